"""A loopback news site for the flow tests: feeds over corpus pages and the seeds.

Responses are scripted per path (a list of statuses, the last one repeating), and the site
records every request and the most requests it had in flight at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from connectors.seeds import load_seeds, seed_site

PUBLISHED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass
class Page:
    content_type: str
    body: bytes
    statuses: list[int] = field(default_factory=lambda: [200])


@dataclass
class NewsSite:
    """Pages by path; what was requested; peak concurrency."""

    pages: dict[str, Page] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    delay_s: float = 0.0
    in_flight: int = 0
    peak_in_flight: int = 0
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_feed(self, path: str, links: list[str], statuses: list[int] | None = None) -> str:
        """An RSS feed at `path` linking to `links` (site paths); returns its URL."""
        items = "".join(
            f"<item><title>{escape(link)}</title><link>{self.base_url}{escape(link)}</link>"
            f"<pubDate>{format_datetime(PUBLISHED)}</pubDate></item>"
            for link in links
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{path}</title>{items}'
        self.pages[path] = Page(
            "application/rss+xml", (body + "</channel></rss>").encode(), statuses or [200]
        )
        return self.base_url + path

    def respond(self, path: str) -> tuple[int, str, bytes]:
        with self.lock:
            self.hits[path] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            attempt = self.hits[path]
        try:
            time.sleep(self.delay_s)
            page = self.pages.get(path)
            if page is None:
                return 404, "text/plain", b"not found"
            status = page.statuses[min(attempt, len(page.statuses)) - 1]
            return (status, page.content_type, page.body if status == 200 else b"busy")
        finally:
            with self.lock:
                self.in_flight -= 1


@contextmanager
def news_site(corpus_dir: Path, seeds_dir: Path, corpus_pages: int) -> Iterator[NewsSite]:
    """Serve the seeds' pages and the first `corpus_pages` corpus pages under /articles/."""
    site = NewsSite()
    for path, (content_type, body) in seed_site(load_seeds(seeds_dir)).pages.items():
        site.pages[path] = Page(content_type, body)
    for html in sorted(corpus_dir.glob("*.html"))[:corpus_pages]:
        site.pages[f"/articles/{html.name}"] = Page("text/html", html.read_bytes())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = site.respond(urlsplit(self.path).path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()

"""A tiny static website on a loopback port, for the served replay and for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Site:
    """Pages by path, each with its content type."""

    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def add(self, path: str, content_type: str, body: bytes) -> None:
        self.pages[path] = (content_type, body)


@contextmanager
def serve(site: Site, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `site` on a free port of `host` while the block runs; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(urlsplit(self.path).path)
            if page is None:
                self.send_error(404)
                return
            content_type, body = page
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the replay's output clean."""

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

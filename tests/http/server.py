"""A loopback HTTP server that misbehaves on demand, for the fetcher's tests.

Each path names a behaviour; the server records every request so tests can check what the
fetcher did (and did not) ask for. Every loop in it is bounded in time and size.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOMB_SIZE = 64 * 1024 * 1024
ENDLESS_LIMIT_S = 10.0
SLOW_DELAY_S = 5.0

HTML = b"<html><head><title>Hello</title></head><body><p>Hello, world.</p></body></html>"
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>30</ttl>
<item><guid>a</guid><link>http://example.com/a</link><title>A</title></item>
</channel></rss>"""
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
ACCENTED_TEXT = (
    "Café déjà vu – señor Müller’s crème brûlée won the naïve jury’s prize at the façade "
    "of the old théâtre, where the smörgåsbord was served."
)
ACCENTED_PAGE = f"<html><body><article><p>{ACCENTED_TEXT}</p></article></body></html>"
LATIN1_HTML = ACCENTED_PAGE.encode("cp1252")
# 0x81 is one of the five bytes cp1252 leaves undefined: the fallback must still apply.
LATIN1_UNDEFINED_HTML = LATIN1_HTML.replace(b"</article>", b"<p>\x81</p></article>")


@dataclass
class Recorder:
    """What the server saw: paths requested and the headers of each request."""

    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.paths.append(path)
            self.headers.append(headers)
            self.hits[urlsplit(path).path] += 1


class MisbehavingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _Handler)
        self.recorder = Recorder()
        self.bomb = gzip_bomb()
        self.etag = '"v1"'
        self.feed_body = RSS
        self.flaky_failures = 3
        self.extra_routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        # When set, every request (any method) is refused with this status and an
        # Elasticsearch-style error body that echoes the request headers.
        self.echo_headers_status: int | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-body (the point of several tests) are not errors."""

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: MisbehavingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        named.setdefault("Content-Type", "text/html; charset=utf-8")
        for name, value in named.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.recorder.add(self.path, {k.lower(): v for k, v in self.headers.items()})
        if self.server.echo_headers_status is not None:
            self._echo_headers(self.server.echo_headers_status)
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        route = getattr(self, "route_" + re.sub(r"[^a-z0-9]", "_", parts.path.strip("/")), None)
        if parts.path in self.server.extra_routes:
            status, headers, body = self.server.extra_routes[parts.path]
            self._send(status, body, **headers)
        elif route is not None:
            route(query)
        elif parts.path.startswith("/private/"):
            self._send(200, HTML)
        else:
            self._send(404, b"not found")

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    do_POST = do_PUT
    do_HEAD = do_GET

    def _echo_headers(self, status: int) -> None:
        echoed = "; ".join(f"{name}: {value}" for name, value in self.headers.items())
        body = json.dumps({"error": {"type": "bad_request", "reason": f"headers: {echoed}"}})
        self._send(
            status,
            body.encode(),
            Content_Type="application/json",
            X_Elastic_Product="Elasticsearch",
        )

    def route_robots_txt(self, query: dict[str, list[str]]) -> None:
        self._send(200, ROBOTS, Content_Type="text/plain")

    def route_ok(self, query: dict[str, list[str]]) -> None:
        self._send(200, HTML)

    def route_feed(self, query: dict[str, list[str]]) -> None:
        if self.headers.get("If-None-Match") == self.server.etag:
            self.send_response(304)
            self.send_header("ETag", self.server.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(
            200,
            self.server.feed_body,
            Content_Type="application/rss+xml",
            ETag=self.server.etag,
            Last_Modified="Mon, 23 Nov 2026 08:00:00 GMT",
        )

    def route_slow(self, query: dict[str, list[str]]) -> None:
        time.sleep(SLOW_DELAY_S)
        self._send(200, HTML)

    def route_endless(self, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        deadline = time.monotonic() + ENDLESS_LIMIT_S
        try:
            while time.monotonic() < deadline:
                self.wfile.write(b"<p>" + b"x" * 65536 + b"</p>")
        except OSError:
            pass
        self.close_connection = True

    def route_bomb(self, query: dict[str, list[str]]) -> None:
        self._send(200, self.server.bomb, Content_Encoding="gzip")

    def route_loop(self, query: dict[str, list[str]]) -> None:
        hop = int(query.get("n", ["0"])[0])
        self._send(302, Location=f"/loop?n={hop + 1}")

    def route_redirect(self, query: dict[str, list[str]]) -> None:
        self._send(302, Location=query["to"][0])

    def route_latin1(self, query: dict[str, list[str]]) -> None:
        self._send(200, LATIN1_HTML, Content_Type="text/html; charset=windows-1252")

    def route_mislabelled(self, query: dict[str, list[str]]) -> None:
        self._send(200, LATIN1_HTML, Content_Type="text/html; charset=utf-8")

    def route_mislabelled_undefined(self, query: dict[str, list[str]]) -> None:
        self._send(200, LATIN1_UNDEFINED_HTML, Content_Type="text/html; charset=utf-8")

    def route_utf8_as_latin1(self, query: dict[str, list[str]]) -> None:
        self._send(200, ACCENTED_PAGE.encode(), Content_Type="text/html; charset=ISO-8859-1")

    def route_pdf(self, query: dict[str, list[str]]) -> None:
        self._send(200, b"%PDF-1.4", Content_Type="application/pdf")

    def route_limited(self, query: dict[str, list[str]]) -> None:
        self._send(429, b"slow down", Retry_After="120")

    def route_flaky(self, query: dict[str, list[str]]) -> None:
        if self.server.recorder.hits["/flaky"] <= self.server.flaky_failures:
            self._send(503, b"busy")
        else:
            self._send(200, self.server.feed_body, Content_Type="application/rss+xml")


@cache
def gzip_bomb() -> bytes:
    """BOMB_SIZE zero bytes, gzip-compressed to about a thousandth of that."""
    return gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)


def start(host: str = "127.0.0.1") -> MisbehavingServer:
    """Start a server on a free loopback port in a daemon thread."""
    server = MisbehavingServer(host)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


@contextmanager
def running(host: str = "127.0.0.1") -> Iterator[MisbehavingServer]:
    """A started server, shut down when the block ends."""
    server = start(host)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()

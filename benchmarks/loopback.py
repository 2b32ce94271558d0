"""A small keep-alive HTTP/1.1 server in its own process, for the fetch benchmarks.

It runs on one core while the benchmark runs on the other, so the client's numbers are not
inflated by serving. It answers GET only, and stops by itself after `lifetime_s`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Response = tuple[int, dict[str, str], bytes]
App = Callable[[str, dict[str, str]], Response]
_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The next request's path and headers (names lower-cased); raises at end of stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    _method, path, _version = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return path, headers


async def _serve_connection(
    app: App, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            path, headers = await read_request(reader)
            status, extra, body = app(path, headers)
            response = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}"]
            response += [f"{k}: {v}" for k, v in extra.items()]
            response.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(response) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _run(app: App, sock: socket.socket, lifetime_s: float) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(app, r, w), sock=sock, backlog=1024
        )
        async with server:
            await asyncio.sleep(lifetime_s)

    asyncio.run(main())


@contextmanager
def serving(app: App, lifetime_s: float = 900.0) -> Iterator[str]:
    """Serve `app` (a picklable function) from a child process; yield the base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(
        target=_run, args=(app, sock, lifetime_s), daemon=True
    )
    process.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(5)
        sock.close()

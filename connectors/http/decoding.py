"""Bounded decompression of response bodies.

httpx inflates `Content-Encoding` without an output limit, so the fetcher reads the raw
bytes and inflates them here, asking zlib for at most one byte more than the room left:
a gzip bomb stops at the cap after producing `limit + 1` bytes, never its full size.
"""

from __future__ import annotations

import zlib

SUPPORTED_ENCODINGS = ("gzip", "deflate")
ACCEPT_ENCODING = ", ".join(SUPPORTED_ENCODINGS)


class BodyTooLarge(Exception):
    """The (decompressed) body exceeds the cap."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding the fetcher did not ask for and cannot decode, or corrupt data."""


class _Inflater:
    """One zlib stream (gzip, zlib-wrapped or raw deflate) that never outputs past `limit`."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._encoding = encoding
        self._limit = limit
        self._produced = 0
        self._stream: zlib._Decompress | None = None

    def _open(self, first: bytes) -> zlib._Decompress:
        if self._encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the standard, raw deflate by many servers.
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        if self._stream is None:
            if not data:
                return b""
            self._stream = self._open(data)
        try:
            out = self._stream.decompress(data, self._limit - self._produced + 1)
        except zlib.error as exc:
            raise UnsupportedEncoding(f"corrupt {self._encoding} data: {exc}") from exc
        return self._count(out)

    def finish(self) -> bytes:
        if self._stream is None:
            return b""
        try:
            return self._count(self._stream.flush())
        except zlib.error as exc:
            raise UnsupportedEncoding(f"corrupt {self._encoding} data: {exc}") from exc

    def _count(self, out: bytes) -> bytes:
        self._produced += len(out)
        if self._produced > self._limit:
            raise BodyTooLarge(f"decompressed body exceeds {self._limit} bytes")
        return out


class BoundedDecoder:
    """Decodes a body's Content-Encoding chain, raising `BodyTooLarge` past `limit` bytes."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        names = [
            name.strip().lower() for name in (content_encoding or "").split(",") if name.strip()
        ]
        names = [name for name in names if name != "identity"]
        names = ["gzip" if name == "x-gzip" else name for name in names]
        unknown = [name for name in names if name not in SUPPORTED_ENCODINGS]
        if unknown:
            raise UnsupportedEncoding(f"unsupported content-encoding {', '.join(unknown)}")
        # Encodings are listed in the order applied, so they are undone in reverse.
        self._inflaters = [_Inflater(name, limit) for name in reversed(names)]
        self._limit = limit
        self._size = 0

    def feed(self, data: bytes) -> bytes:
        """Decoded bytes for the next raw chunk."""
        for inflater in self._inflaters:
            data = inflater.feed(data)
        return self._count(data)

    def finish(self) -> bytes:
        """Whatever the decoders still hold at the end of the body."""
        tail = b""
        for inflater in self._inflaters:
            tail = inflater.feed(tail) + inflater.finish()
        return self._count(tail)

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise BodyTooLarge(f"body exceeds {self._limit} bytes")
        return data

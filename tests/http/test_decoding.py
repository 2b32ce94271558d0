"""Bounded decompression: bombs stop at the cap, ordinary bodies round-trip."""

from __future__ import annotations

import gzip
import zlib

import pytest

from connectors.http.decoding import BodyTooLarge, BoundedDecoder, UnsupportedEncoding


def decode(encoding: str | None, body: bytes, limit: int, chunk: int = 4096) -> bytes:
    decoder = BoundedDecoder(encoding, limit)
    out = [decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk)]
    return b"".join([*out, decoder.finish()])


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        (None, lambda data: data),
        ("identity", lambda data: data),
    ],
)
def test_round_trip(encoding: str | None, compress: object) -> None:
    data = b"news " * 10_000
    assert decode(encoding, compress(data), limit=len(data)) == data  # type: ignore[operator]


def test_bomb_stops_after_limit_plus_one_byte() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    decoder = BoundedDecoder("gzip", 1024)
    with pytest.raises(BodyTooLarge):
        decoder.feed(bomb)  # one chunk holding the whole bomb: still stops at the cap


def test_stacked_encodings_undone_in_reverse() -> None:
    data = b"twice " * 1000
    assert decode("deflate, gzip", gzip.compress(zlib.compress(data)), limit=len(data)) == data


def test_unsupported_and_corrupt_encodings() -> None:
    with pytest.raises(UnsupportedEncoding):
        BoundedDecoder("br", 100)
    with pytest.raises(UnsupportedEncoding):
        decode("gzip", b"\x1f\x8b\x08garbage-garbage", limit=100)

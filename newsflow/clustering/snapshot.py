"""The binary layout of clusterer state: a JSON header and numpy arrays, column by column.

    b"NFCLUST\\n" | arrivals (8 bytes) | header length (8 bytes) | header (UTF-8 JSON) | arrays

`arrivals` counts the articles the window ever took in (little-endian, as every number): of
two states of one stream, the one with more arrivals is the later, which `peek_arrivals`
tells from the first bytes alone.

The header holds the format, scalars, string columns (JSON keeps any `str` intact, lone
surrogates included) and where each array lies in the rest: dtype, shape, byte offset.
Numbers travel as raw little-endian arrays, read back without copying or parsing, so a full
window restores in a fraction of the time gzip JSON took. Nothing in it is executable (no
pickle): a state file or message is data, and a damaged one raises `SnapshotError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsflow.files import replacing

# 2: stories keep a vector count, not the norm; 3: shingles of split words; 4: arrival clocks;
# 5: outlet evidence; 6: binary columns instead of gzip JSON
SNAPSHOT_FORMAT = 6
MAGIC = b"NFCLUST\n"
_LENGTH_BYTES = 8
_GZIP = b"\x1f\x8b"  # the state files of formats up to 5
PREFIX_BYTES = len(MAGIC) + _LENGTH_BYTES  # enough to read the arrivals
_DTYPES = frozenset({"<i4", "<i8", "<u4", "<f8", "|b1"})

Array = npt.NDArray[Any]


class SnapshotError(ValueError):
    """Clusterer state that cannot be restored."""


def encode_state(arrivals: int, fields: dict[str, Any], arrays: dict[str, Array]) -> bytes:
    """The bytes of a state: its `arrivals`, JSON-able `fields` and numeric `arrays`."""
    directory: dict[str, list[Any]] = {}
    blobs: list[memoryview] = []  # the arrays' own bytes: the join below is the one copy
    offset = 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        directory[name] = [data.dtype.str, list(data.shape), offset]
        blob = data.reshape(-1).view(np.uint8).data
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({"format": SNAPSHOT_FORMAT, "fields": fields, "arrays": directory})
    encoded = header.encode("utf-8")
    lengths = [
        arrivals.to_bytes(_LENGTH_BYTES, "little"),
        len(encoded).to_bytes(_LENGTH_BYTES, "little"),
    ]
    return b"".join([MAGIC, *lengths, encoded, *blobs])


def peek_arrivals(data: bytes, origin: str) -> int:
    """The arrivals of an encoded state, from its first `PREFIX_BYTES` bytes."""
    if data.startswith(_GZIP):
        raise _other_format(origin, "5 or older (gzip JSON)")
    if len(data) < PREFIX_BYTES or not data.startswith(MAGIC):
        raise SnapshotError(f"{origin} is not a clusterer state")
    return int.from_bytes(data[len(MAGIC) : PREFIX_BYTES], "little")


def decode_state(data: bytes, origin: str) -> tuple[dict[str, Any], dict[str, Array]]:
    """The fields and arrays `encode_state` wrote; `origin` names the source in errors."""
    peek_arrivals(data, origin)
    start = PREFIX_BYTES + _LENGTH_BYTES
    length = int.from_bytes(data[PREFIX_BYTES:start], "little")
    try:
        header = json.loads(data[start : start + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"cannot read clusterer state {origin}: {exc}") from exc
    if not isinstance(header, dict) or "format" not in header:
        raise SnapshotError(f"{origin} is not a clusterer state")
    if header["format"] != SNAPSHOT_FORMAT:
        raise _other_format(origin, header["format"])
    body = memoryview(data)[start + length :]
    try:
        arrays = {
            name: _array(body, dtype, shape, offset)
            for name, (dtype, shape, offset) in header["arrays"].items()
        }
        return dict(header["fields"]), arrays
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"{origin}: damaged clusterer state ({exc!r})") from exc


def _other_format(origin: str, found: object) -> SnapshotError:
    return SnapshotError(
        f"{origin} holds clusterer state of format {found}, this version reads format "
        f"{SNAPSHOT_FORMAT}: delete the file to start with an empty window (the stories in it "
        "stay in the store; new articles open new stories)"
    )


def _array(body: memoryview, dtype: str, shape: list[int], offset: int) -> Array:
    if dtype not in _DTYPES:
        raise ValueError(f"unexpected array type {dtype!r}")
    count = int(np.prod(shape, dtype=np.int64))
    size = count * np.dtype(dtype).itemsize
    if offset < 0 or count < 0 or offset + size > len(body):
        raise ValueError("an array runs past the end of the state")
    return np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape)


def write_state(path: Path, data: bytes) -> None:
    """Write encoded state to `path`, replacing it whole (see `newsflow.files.replacing`)."""
    with replacing(path) as out:
        out.write(data)


def read_state(path: Path) -> bytes:
    """The encoded state stored at `path`; raises `SnapshotError` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read clusterer state {path}: {exc}") from exc

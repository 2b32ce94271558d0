"""Encoding the window in a forked child process, so the stream does not wait for it.

`os.fork` gives the child a copy-on-write image of this process as it is at that instant:
the child encodes that image while the parent goes on changing its own window, the way
Redis' BGSAVE writes a snapshot. The clusterer's thread pays only for the fork (tens of
milliseconds for a 100,000-article window), not for encoding it (about a second), and the
encoding runs on another core.

The child does nothing but compute bytes and write them to a pipe, then leaves with
`os._exit`: it takes no lock another thread of the parent might have held at the fork (no
logging, no Kafka client, no buffered I/O), runs no garbage collection and no exit handlers.
The price: pages the parent writes while the child runs are copied (at most the window's
size in memory, for a second or two, and the parent runs slower meanwhile). The objects that
exist at the fork are frozen out of the parent's garbage collector until the child has
ended (`gc.freeze`, as the `gc` documentation advises before a fork), or a full collection
in that time would touch, and so copy, every one of them.
"""

from __future__ import annotations

import gc
import os
import signal
import traceback
from collections.abc import Callable

from newsflow.clustering.snapshot import SnapshotError

_OK, _FAILED = b"\x00", b"\x01"  # the first byte the child writes


def encoded_in_child(encode: Callable[[], bytes]) -> Callable[[], bytes]:
    """Run `encode` in a forked child on this process as it is now; returns a function that
    waits for the bytes (call it once, on any thread). That function raises `SnapshotError`
    when the child failed, saying why. Where `os.fork` is missing (Windows), or fails,
    `encode` runs here and now instead (`encoded_here`)."""
    if not hasattr(os, "fork"):
        return encoded_here(encode)
    read_end, write_end = os.pipe()
    gc.freeze()  # the parent's collections leave the shared objects alone meanwhile
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        os.close(read_end)
        os.close(write_end)
        return encoded_here(encode)
    if pid == 0:  # pragma: no cover - the child; its work is checked through the parent
        _child(encode, read_end, write_end)
    os.close(write_end)

    def result() -> bytes:
        try:
            with open(read_end, "rb") as pipe:
                outcome, data = pipe.read(1), pipe.read()  # the bytes are not copied again
        finally:
            _, status = os.waitpid(pid, 0)
            gc.unfreeze()
        code = os.waitstatus_to_exitcode(status)
        if outcome == _OK and code == 0:
            return data
        if outcome == _FAILED:
            raise SnapshotError(f"encoding the window failed: {data.decode(errors='replace')}")
        raise SnapshotError(f"the process encoding the window ended with status {code}")

    return result


def _child(encode: Callable[[], bytes], read_end: int, write_end: int) -> None:
    """Encode, write `_OK` and the bytes (or `_FAILED` and the error) to the pipe, exit."""
    status = 1
    try:
        gc.disable()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
        os.close(read_end)
        try:
            data, prefix = encode(), _OK
        except BaseException:  # the parent says what went wrong
            data, prefix = traceback.format_exc(limit=3).encode(), _FAILED
        _write_all(write_end, prefix)
        _write_all(write_end, data)
        status = 0
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def encoded_here(encode: Callable[[], bytes]) -> Callable[[], bytes]:
    """Run `encode` now, on this thread; returns a function that gives its bytes (the same
    shape as `encoded_in_child`, for a caller that waits for the bytes anyway)."""
    data = encode()
    return lambda: data

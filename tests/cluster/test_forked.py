"""Encoding the window in a forked child: it sees the process as it was at the fork."""

from __future__ import annotations

import gc
import os
import signal

import pytest

from newsflow.clustering.forked import encoded_in_child
from newsflow.clustering.snapshot import SnapshotError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")


def test_the_child_encodes_the_state_as_it_was_when_forked() -> None:
    state = [b"before"]
    result = encoded_in_child(lambda: b"%d %s" % (os.getpid(), b"".join(state)))
    state[0] = b"after"  # the parent goes on changing its own copy
    pid, seen = result().split()
    assert seen == b"before"
    assert int(pid) != os.getpid()  # encoded in another process


def test_bytes_larger_than_the_pipe_arrive_whole() -> None:
    data = os.urandom(3 * 2**20)
    assert encoded_in_child(lambda: data)() == data


def test_an_encoding_that_raises_is_reported_with_its_error() -> None:
    def broken() -> bytes:
        raise ValueError("a column of the wrong length")

    with pytest.raises(SnapshotError, match="a column of the wrong length"):
        encoded_in_child(broken)()


def test_a_child_killed_before_it_finished_is_reported() -> None:
    def killed() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b"never"

    with pytest.raises(SnapshotError, match="status -9"):
        encoded_in_child(killed)()


def test_the_parents_objects_are_left_out_of_collections_until_the_child_ended() -> None:
    result = encoded_in_child(lambda: b"state")
    assert gc.get_freeze_count() > 0  # a full collection now would copy every shared page
    assert result() == b"state"
    assert gc.get_freeze_count() == 0

"""Files replaced whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from newsflow.files import replacing


def test_the_new_content_replaces_the_old_with_the_permissions_of_a_new_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "deep" / "out.jsonl"
    target.parent.mkdir()
    target.write_bytes(b"old\n")
    target.chmod(0o600)

    with replacing(target) as handle:
        handle.write(b"new\n")
        assert target.read_bytes() == b"old\n"  # nothing shows before the block ends

    assert target.read_bytes() == b"new\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [path.name for path in target.parent.iterdir()] == ["out.jsonl"]


def test_an_error_in_the_block_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")

    with pytest.raises(RuntimeError), replacing(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")

    assert target.read_bytes() == b"old\n"
    assert list(tmp_path.iterdir()) == [target]


def test_missing_folders_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state"
    with replacing(target) as handle:
        handle.write(b"x")
    assert target.read_bytes() == b"x"

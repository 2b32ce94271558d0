"""Writing and reading clusterer state files: gzip-compressed JSON, replaced atomically."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from newsflow.files import replacing

# 2: stories keep a vector count, not the norm; 3: shingles of split words; 4: arrival clocks;
# 5: outlet evidence
SNAPSHOT_FORMAT = 5


class SnapshotError(ValueError):
    """A state file that cannot be restored."""


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write `state` to `path`, replacing it whole (see `newsflow.files.replacing`)."""
    with (
        replacing(path) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out,
    ):
        out.write(json.dumps({"format": SNAPSHOT_FORMAT, **state}).encode("utf-8"))


def read_state(path: Path) -> dict[str, Any]:
    """The state stored at `path`; raises `SnapshotError` for anything unreadable."""
    try:
        with gzip.open(path, "rb") as handle:
            state = json.loads(handle.read().decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"cannot read clusterer state {path}: {exc}") from exc
    if not isinstance(state, dict) or "format" not in state:
        raise SnapshotError(f"{path} is not a clusterer state file")
    if state["format"] != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"{path} holds clusterer state of format {state['format']}, this version reads "
            f"format {SNAPSHOT_FORMAT}: delete the file to start with an empty window (the "
            "stories in it stay in the store; new articles open new stories)"
        )
    return state

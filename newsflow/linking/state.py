"""The linker's state file: the linker (stories held, their vectors, merges and links) and, for
the link stage, the latest record of each story, as gzip-compressed JSON replaced whole."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path

from newsflow.config import ClusterSettings
from newsflow.files import replacing
from newsflow.linking.embedder import E5Embedder, Embedder
from newsflow.linking.linker import StoryLinker
from schemas import Story

LINK_STATE_FORMAT = 2  # 2: when each merge was noted, so that old ones can be dropped


class LinkStateError(ValueError):
    """A link state file that cannot be restored."""


def open_linker(settings: ClusterSettings, state_path: Path | None = None) -> StoryLinker | None:
    """The linker the settings ask for (`[cluster] cross_language`), else None; restored from
    `state_path` when that file exists. Raises `LinkingUnavailable` when it is asked for and
    the model is not installed, `LinkStateError` when the state cannot be restored."""
    if not settings.cross_language:
        return None
    return restore_linker(settings, state_path)[0]


def restore_linker(
    settings: ClusterSettings, state_path: Path | None
) -> tuple[StoryLinker, dict[str, Story]]:
    """A linker with the model loaded, and the story records saved with it: as saved at
    `state_path` when that file exists, else new (see `open_linker` for what it raises)."""
    embedder = E5Embedder()
    if state_path is None or not state_path.exists():
        return StoryLinker(settings, embedder), {}
    return load_link_state(state_path, settings, embedder)


def linker_state_path(clusterer_state: Path) -> Path:
    """Where `newsflow cluster --state FILE` keeps the linker's state: next to FILE."""
    return clusterer_state.with_name(clusterer_state.name + ".links")


def save_link_state(path: Path, linker: StoryLinker, records: Iterable[Story] = ()) -> None:
    """Write the linker and `records` to `path` (see `newsflow.files.replacing`)."""
    state = {
        "format": LINK_STATE_FORMAT,
        "linker": linker.state(),
        "records": [record.model_dump(mode="json") for record in records],
    }
    with (
        replacing(path) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out,
    ):
        out.write(json.dumps(state).encode("utf-8"))


def load_link_state(
    path: Path, settings: ClusterSettings, embedder: Embedder
) -> tuple[StoryLinker, dict[str, Story]]:
    """The linker and the story records saved at `path`, with `settings` in force; raises
    `LinkStateError` saying what is wrong."""
    try:
        with gzip.open(path, "rb") as handle:
            state = json.loads(handle.read().decode("utf-8"))
        if state["format"] != LINK_STATE_FORMAT:
            raise LinkStateError(
                f"{path} holds link state of format {state['format']}, this version reads "
                f"format {LINK_STATE_FORMAT}: delete it to start linking afresh"
            )
        linker = StoryLinker.restore(settings, embedder, state["linker"])
        records = [Story.model_validate(record) for record in state["records"]]
    except LinkStateError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise LinkStateError(f"cannot restore link state {path}: {exc!r}") from exc
    return linker, {record.id: record for record in records}

"""Checkpoints of the clusterer's window: when to write one, where, and restoring the newest.

A checkpoint is the whole window, encoded (`newsflow.clustering.snapshot`), written to every
store at once: a file in the data directory and, on Kafka, a topic (so that a new instance
with an empty disk resumes the same stories). The stream's offsets are committed only after
a checkpoint holds every article before them; a crash replays what came after the last
checkpoint into the restored window, which recognises redelivered articles by id.

`CheckpointPolicy` decides when: every `checkpoint_interval_s` or `checkpoint_records`,
whichever comes first, but never so often that writing checkpoints takes more than
`checkpoint_max_share` of the time, so durability costs a bounded share at any window size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsflow.clustering.clusterer import StoryClusterer
from newsflow.clustering.snapshot import (
    PREFIX_BYTES,
    SnapshotError,
    peek_arrivals,
    read_state,
    write_state,
)
from newsflow.config import ClusterSettings

log = logging.getLogger(__name__)


class CheckpointStore(Protocol):
    """Somewhere a checkpoint is kept; the newest one written replaces the others."""

    def describe(self) -> str:
        """Where, for messages."""
        ...

    def arrivals(self) -> int | None:
        """The arrivals of the checkpoint held (see `StoryClusterer.arrivals`); None if none."""
        ...

    def load(self) -> bytes:
        """The checkpoint held; raises `SnapshotError` when there is none or it is damaged."""
        ...

    def save(self, data: bytes, arrivals: int) -> None:
        """Keep `data`, the state after `arrivals` arrivals, durably before returning."""
        ...


@dataclass(frozen=True)
class FileCheckpoints:
    """The checkpoint as one file, replaced whole."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    def arrivals(self) -> int | None:
        try:
            with self.path.open("rb") as handle:
                return peek_arrivals(handle.read(PREFIX_BYTES), str(self.path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotError(f"cannot read clusterer state {self.path}: {exc}") from exc

    def load(self) -> bytes:
        return read_state(self.path)

    def save(self, data: bytes, arrivals: int) -> None:
        write_state(self.path, data)


def restore(stores: Sequence[CheckpointStore], settings: ClusterSettings) -> StoryClusterer:
    """The clusterer from the newest checkpoint among `stores` (the first of equals), or an
    empty one when none holds any. Raises `SnapshotError` when that checkpoint is unusable."""
    held = [(store.arrivals(), -rank, store) for rank, store in enumerate(stores)]
    candidates = [(arrivals, rank, store) for arrivals, rank, store in held if arrivals is not None]
    if not candidates:
        return StoryClusterer(settings)
    _, _, newest = max(candidates, key=lambda item: (item[0], item[1]))
    started = time.perf_counter()
    clusterer = StoryClusterer.from_bytes(newest.load(), settings, newest.describe())
    log.info(
        "restored %d articles from %s in %.2fs",
        len(clusterer),
        newest.describe(),
        time.perf_counter() - started,
    )
    return clusterer


class CheckpointPolicy:
    """When the next checkpoint is due: by time or records, within a share of the time."""

    def __init__(
        self, settings: ClusterSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._since = clock()
        self._records = 0
        self._last_cost = 0.0

    def handled(self, records: int) -> None:
        """Count `records` taken in since the last checkpoint."""
        self._records += records

    def due(self) -> bool:
        """Whether a checkpoint should be written now."""
        settings = self._settings
        elapsed = self._clock() - self._since
        wanted = (
            elapsed >= settings.checkpoint_interval_s
            or self._records >= settings.checkpoint_records
        )
        return wanted and elapsed * settings.checkpoint_max_share >= self._last_cost

    def written(self, cost_s: float) -> None:
        """A checkpoint was written, taking `cost_s` seconds."""
        self._since = self._clock()
        self._records = 0
        self._last_cost = cost_s


class Checkpointer:
    """Writes the clusterer's window to its stores when the policy says so, or when asked."""

    def __init__(
        self,
        clusterer: StoryClusterer,
        stores: Sequence[CheckpointStore],
        policy: CheckpointPolicy,
    ) -> None:
        self.clusterer = clusterer
        self.stores = list(stores)
        self.policy = policy
        self.written = 0  # checkpoints written so far

    def handled(self, records: int) -> bool:
        """Count `records` handled; write a checkpoint if one is due. True when written."""
        self.policy.handled(records)
        if not self.policy.due():
            return False
        self.write()
        return True

    def write(self) -> None:
        """Write a checkpoint to every store now."""
        started = time.perf_counter()
        data = self.clusterer.to_bytes()
        for store in self.stores:
            store.save(data, self.clusterer.arrivals)
        cost = time.perf_counter() - started
        self.policy.written(cost)
        self.written += 1
        log.info(
            "checkpoint of %d articles (%.1f MB) written in %.2fs",
            len(self.clusterer),
            len(data) / 1e6,
            cost,
        )

"""Checkpoints of the clusterer's window: when to write one, where, and restoring the newest.

A checkpoint is the whole window, encoded (`newsflow.clustering.snapshot`), written to every
store at once: a file in the data directory and, on Kafka, a topic (so that a new instance
with an empty disk resumes the same stories). The stream's offsets are committed only after
a checkpoint holds every article before them; a crash replays what came after the last
checkpoint into the restored window, which recognises redelivered articles by id.

`CheckpointPolicy` decides when: once the oldest article no checkpoint holds has waited
`checkpoint_interval_s`, or `checkpoint_records` are waiting, whichever comes first, but
never so often that checkpoints take more than `checkpoint_max_share` of the time, so
durability costs a bounded share at any window size. `Checkpointer` writes them, in the
background while the stream goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsflow.clustering.clusterer import StoryClusterer
from newsflow.clustering.forked import encoded_here, encoded_in_child
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


@dataclass(frozen=True)
class Snapshot:
    """The window encoded, after `arrivals` arrivals, holding `articles` articles."""

    data: bytes
    arrivals: int
    articles: int


# Begins a snapshot of the window as it is now (`background`: encoded while the stream goes
# on; otherwise the caller waits anyway) and returns a function that waits for it, to be
# called once, on any thread; that function raises `SnapshotError` when the snapshot failed.
Snapshotter = Callable[[bool], Callable[[], Snapshot]]


def snapshots_of(clusterer: StoryClusterer) -> Snapshotter:
    """Snapshots of a clusterer in this process: encoded by a forked child while the stream
    goes on (`newsflow.clustering.forked`), or here when the caller waits for them anyway.
    (The cluster service's clusterer runs in a process of its own and takes its own,
    `newsflow.clustering.process`.)"""

    def begin(background: bool) -> Callable[[], Snapshot]:
        arrivals, articles = clusterer.arrivals, len(clusterer)
        encoded = (encoded_in_child if background else encoded_here)(clusterer.to_bytes)
        return lambda: Snapshot(encoded(), arrivals, articles)

    return begin


class CheckpointPolicy:
    """When the next checkpoint is due: once articles wait for one, when the oldest has
    waited `checkpoint_interval_s` or `checkpoint_records` have come, but never so often
    that checkpoints take more than `checkpoint_max_share` of the time."""

    def __init__(
        self, settings: ClusterSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._pending = Pending()
        self._last_begun = clock()
        self._last_cost = 0.0

    def handled(self, records: int) -> None:
        """Count `records` taken in since the last checkpoint began."""
        if records:
            self._pending = self._pending.plus(Pending(records, self._clock()))

    def due(self) -> bool:
        """Whether a checkpoint should begin now."""
        oldest = self._pending.oldest
        if oldest is None:
            return False  # nothing that a checkpoint would add
        settings, now = self._settings, self._clock()
        wanted = (
            now - oldest >= settings.checkpoint_interval_s
            or self._pending.records >= settings.checkpoint_records
        )
        spaced = (now - self._last_begun) * settings.checkpoint_max_share >= self._last_cost
        return wanted and spaced

    def begun(self) -> Pending:
        """A checkpoint began; it holds what was pending, which is returned."""
        pending, self._pending = self._pending, Pending()
        self._last_begun = self._clock()
        return pending

    def ended(self, cost_s: float, unwritten: Pending | None = None) -> None:
        """The checkpoint begun last ended, after `cost_s` seconds in all; `unwritten`: it
        failed, and what it held waits for the next one."""
        self._last_cost = cost_s
        if unwritten is not None:
            self._pending = self._pending.plus(unwritten)


@dataclass(frozen=True)
class Pending:
    """Articles handled that no checkpoint holds yet: how many, and when the first came."""

    records: int = 0
    oldest: float | None = None

    def plus(self, other: Pending) -> Pending:
        times = [t for t in (self.oldest, other.oldest) if t is not None]
        return Pending(self.records + other.records, min(times) if times else None)


@dataclass
class _Write:
    """One checkpoint: its number, what it holds that the last one did not, its outcome."""

    number: int
    pending: Pending
    started: float
    snapshot: Callable[[], Snapshot]  # the window as it stood at the start; call once
    size: int = 0
    articles: int = 0
    error: Exception | None = None
    thread: threading.Thread | None = None


class Checkpointer:
    """Writes the clusterer's window to its stores when the policy says so, or when asked.

    A checkpoint due while the stream runs costs the caller's thread no encoding: the
    window as it stood at that instant is encoded elsewhere (see `Snapshotter`), and a thread
    of the checkpoint's own takes the bytes and writes them to the stores while the stream
    goes on, like Flink's asynchronous snapshots. Checkpoints are numbered;
    `durable` is the latest one that every store holds. Each holds everything handled before
    it began, so a failed one is made good by the next.
    """

    def __init__(
        self,
        snapshots: Snapshotter,
        stores: Sequence[CheckpointStore],
        policy: CheckpointPolicy,
    ) -> None:
        """`snapshots`: of the window, as `snapshots_of` or `ClustererProcess.snapshot` give
        them."""
        self.snapshots = snapshots
        self.stores = list(stores)
        self.policy = policy
        self.written = 0  # checkpoints written so far
        self._begun = 0  # the number of the latest checkpoint begun
        self._durable = 0
        self._writing: _Write | None = None

    @property
    def durable(self) -> int:
        """The number of the latest checkpoint that every store holds (0: none yet)."""
        self._collect()
        return self._durable

    def count(self, records: int) -> None:
        """Count `records` handled since the last checkpoint began."""
        self.policy.handled(records)

    def due(self) -> bool:
        """Whether a checkpoint should begin now: the policy says so and none is being
        written."""
        self._collect()
        return self._writing is None and self.policy.due()

    def begin_if_due(self) -> int | None:
        """Begin a checkpoint in the background if one is due. Returns its number; it holds
        everything handled so far."""
        if not self.due():
            return None
        write = self._begin(background=True)
        write.thread = threading.Thread(
            target=self._save, args=(write,), name=f"checkpoint-{write.number}", daemon=True
        )
        self._writing = write
        write.thread.start()
        return write.number

    def wait(self) -> None:
        """Wait until the checkpoint being written, if any, is written or has failed."""
        self._collect(wait=True)

    def write(self) -> int:
        """Write a checkpoint of everything handled so far, after the one being written, and
        wait for it; raises what a store raised. Returns its number."""
        self.wait()
        write = self._begin(background=False)
        self._save(write)
        self._end(write)
        if write.error is not None:
            raise write.error
        return write.number

    def _begin(self, background: bool) -> _Write:
        """A checkpoint of the window as it is now: encoded while the stream goes on
        (`background`), or at once, when the caller waits for it anyway."""
        started = time.perf_counter()
        snapshot = self.snapshots(background)
        self._begun += 1
        return _Write(self._begun, self.policy.begun(), started, snapshot)

    def _save(self, write: _Write) -> None:
        """Save to every store (on the checkpoint's thread); a failure is kept, not raised."""
        try:
            snapshot = write.snapshot()
            write.size, write.articles = len(snapshot.data), snapshot.articles
            for store in self.stores:
                store.save(snapshot.data, snapshot.arrivals)
        except Exception as exc:
            write.error = exc

    def _collect(self, wait: bool = False) -> None:
        """End the checkpoint being written if it is done (or, `wait`, once it is)."""
        write = self._writing
        if write is None or write.thread is None:
            return
        if wait:
            write.thread.join()
        elif write.thread.is_alive():
            return
        self._writing = None
        self._end(write)

    def _end(self, write: _Write) -> None:
        cost = time.perf_counter() - write.started
        if write.error is not None:
            self.policy.ended(cost, unwritten=write.pending)
            log.warning(
                "checkpoint %d not written (%s); its articles wait for the next one: %s",
                write.number,
                type(write.error).__name__,
                write.error,
            )
            return
        self.policy.ended(cost)
        self._durable = write.number
        self.written += 1
        log.info(
            "checkpoint %d of %d articles (%.1f MB) written in %.2fs",
            write.number,
            write.articles,
            write.size / 1e6,
            cost,
        )

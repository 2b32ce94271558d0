"""Checkpoints: when they are due, restoring the newest, and the cluster stage committing
offsets only once a checkpoint holds their articles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from benchmarks.cluster_data import as_article
from connectors.memory_bus import MemoryBus
from newsflow.bus import Message, Topics
from newsflow.clustering import StoryClusterer
from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    FileCheckpoints,
    Pending,
    restore,
)
from newsflow.clustering.process import ClustererProcess
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, document_of, publish_article
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article
from tests.cluster.conftest import event_write_up
from tests.conftest import StartClusterer

TOPICS = Topics.from_settings(KafkaSettings())


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_checkpoint_is_due_by_time_or_records_within_its_share_of_the_time() -> None:
    settings = ClusterSettings(
        checkpoint_interval_s=30, checkpoint_records=100, checkpoint_max_share=0.1
    )
    clock = Clock()
    policy = CheckpointPolicy(settings, clock)
    clock.now = 1000.0
    assert not policy.due()  # nothing handled: nothing to checkpoint, however long
    policy.handled(99)
    clock.now += 29.0
    assert not policy.due()
    policy.handled(1)
    assert policy.due()  # the record count
    assert policy.begun() == Pending(100, 1000.0)
    policy.ended(cost_s=5.0)  # a slow checkpoint: the next begins 50 s later, 10x its cost
    policy.handled(500)
    clock.now += 49.0
    assert not policy.due()
    clock.now += 1.0
    assert policy.due()
    policy.begun()
    policy.ended(cost_s=0.1)
    clock.now += 100.0
    policy.handled(1)  # the interval counts from the oldest article waiting
    clock.now += 29.0
    assert not policy.due()
    clock.now += 1.0
    assert policy.due()


def test_what_a_failed_checkpoint_held_waits_for_the_next() -> None:
    settings = ClusterSettings(
        checkpoint_interval_s=30, checkpoint_records=100, checkpoint_max_share=0.1
    )
    clock = Clock()
    policy = CheckpointPolicy(settings, clock)
    policy.handled(100)
    failed = policy.begun()
    clock.now = 5.0
    policy.handled(3)
    policy.ended(cost_s=2.0, unwritten=failed)
    assert not policy.due()  # the next waits 10x the failed one's cost
    clock.now = 20.0
    assert policy.begun() == Pending(103, 0.0)


def _clusterer_with(settings: ClusterSettings, count: int) -> StoryClusterer:
    clusterer = StoryClusterer(settings)
    for n in range(count):
        clusterer.add(event_write_up(f"d{n}", n, 20, f"outlet-{n}"))
    return clusterer


def test_the_newest_checkpoint_of_any_store_is_restored(tmp_path: Path) -> None:
    settings = ClusterSettings()
    older, newer = FileCheckpoints(tmp_path / "older"), FileCheckpoints(tmp_path / "newer")
    for store, count in ((older, 3), (newer, 5)):
        clusterer = _clusterer_with(settings, count)
        store.save(clusterer.to_bytes(), clusterer.arrivals)
    assert (older.arrivals(), newer.arrivals()) == (3, 5)
    assert len(restore([older, newer], settings)) == 5
    assert len(restore([newer, older], settings)) == 5
    assert len(restore([FileCheckpoints(tmp_path / "none")], settings)) == 0


def _articles(count: int) -> list[Article]:
    """`count` articles on a few events, each event written up by several outlets."""
    return [as_article(event_write_up(f"w{n}", n % 4, 16, f"outlet-{n}")) for n in range(count)]


def _checkpoints_every(interval_s: float, records: int) -> ClusterSettings:
    """Settings whose checkpoints are due after `interval_s` or `records`, never held back."""
    return ClusterSettings(
        checkpoint_interval_s=interval_s, checkpoint_records=records, checkpoint_max_share=1.0
    )


def _waiting(articles: list[Article]) -> MemoryBus:
    """A bus with `articles` waiting on the extracted topic."""
    bus = MemoryBus()
    for article in articles:
        publish_article(bus, TOPICS.extracted, article, "extract")
    return bus


def _stage(
    bus: MemoryBus, clusterer: ClustererProcess, store: FileCheckpoints, settings: ClusterSettings
) -> tuple[ClusterStage, Worker]:
    ticks = iter(range(1_000_000))
    policy = CheckpointPolicy(settings, clock=lambda: float(next(ticks)))  # 1 s a look
    handler = ClusterStage(
        bus, TOPICS, clusterer, Checkpointer(clusterer.snapshot, [store], policy)
    )
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    return handler, Worker("cluster", consumer, handler.handle, handler)


def _stories(bus: MemoryBus) -> Iterator[tuple[str, str | None]]:
    for message in bus.records(TOPICS.clustered):
        article = Article.model_validate_json(message.value)
        yield article.id, article.story_id


def test_offsets_are_committed_only_at_checkpoints_and_a_crash_replays_into_the_state(
    tmp_path: Path, start_clusterer: StartClusterer
) -> None:
    settings = _checkpoints_every(1e6, 10)
    articles = _articles(24)
    uninterrupted = StoryClusterer(settings)
    expected = {a.id: uninterrupted.add(document_of(a)).story_id for a in articles}

    bus = _waiting(articles)
    store = FileCheckpoints(tmp_path / "cluster-state")
    first, worker = _stage(bus, start_clusterer(settings), store, settings)
    limits = BatchLimits(max_records=4, max_wait_s=0.05)
    # A crash after 16 articles: handled in batches of 4, checkpointed after the 12th.
    for _ in range(4):
        handle_one_batch(first, worker, limits)
    assert store.arrivals() == 12
    assert [m.key for m in bus.consumer([TOPICS.extracted], "cluster").poll(100, 0)] == [
        a.id for a in articles[12:]
    ]

    _, worker = _stage(bus, start_clusterer(settings, [store]), store, settings)
    run_workers([worker], StopFlag(), limits, until=lambda: worker.stats.messages >= 12)
    assert worker.stats.messages == 12  # articles 12-23: 12-15 a second time
    assert dict(_stories(bus)) == expected  # redelivered ones got their stories again
    assert store.arrivals() == 24  # stopping wrote a last checkpoint and committed it
    assert bus.consumer([TOPICS.extracted], "cluster").poll(100, 0) == []
    assert first.committable(closing=False) == []  # the crashed stage never released 12-15


def handle_one_batch(stage: ClusterStage, worker: Worker, limits: BatchLimits) -> None:
    """One batch, handled and committed as the runner does when no batch follows at once
    (so the stage publishes it), without closing the worker; a checkpoint it began is waited
    for."""
    batch = worker.consumer.poll(limits.max_records, limits.max_wait_s)
    worker.handler(batch)
    assert stage.checkpointer is not None
    stage.finish()
    stage.checkpointer.wait()
    worker.consumer.commit(stage.committable(False))


def test_an_idle_stage_writes_the_checkpoint_due_by_time_and_commits(
    tmp_path: Path, start_clusterer: StartClusterer
) -> None:
    settings = _checkpoints_every(30, 1000)
    bus = _waiting(_articles(4))
    clock, store = Clock(), FileCheckpoints(tmp_path / "cluster-state")
    clusterer = start_clusterer(settings)
    policy = CheckpointPolicy(settings, clock)
    handler = ClusterStage(
        bus, TOPICS, clusterer, Checkpointer(clusterer.snapshot, [store], policy)
    )
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    worker = Worker("cluster", consumer, handler.handle, handler)
    rounds = iter(range(100))
    committed_while_running: list[bool] = []

    def committed() -> bool:
        if bus.records(TOPICS.clustered):  # published (on an idle poll): no article
            clock.now = 31.0  # arrives any more, and the interval passes
        if not bus.consumer([TOPICS.extracted], "cluster").poll(100, 0):
            committed_while_running.append(store.arrivals() == 4)
        return bool(committed_while_running) or next(rounds) == 99

    run_workers([worker], StopFlag(), BatchLimits(max_records=10, max_wait_s=0.01), committed)
    assert worker.stats.messages == 4
    assert committed_while_running == [True]  # checkpointed and committed before stopping


class GatedStore:
    """A checkpoint store that saves to a file only once `gate` opens, and fails the first
    `failures` saves (a broker that is away, say)."""

    def __init__(self, path: Path, failures: int = 0) -> None:
        self.file = FileCheckpoints(path)
        self.gate = threading.Event()
        self.failures = failures

    def describe(self) -> str:
        return f"gated {self.file.describe()}"

    def arrivals(self) -> int | None:
        return self.file.arrivals()

    def load(self) -> bytes:
        return self.file.load()

    def save(self, data: bytes, arrivals: int) -> None:
        self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("the store is away")
        self.file.save(data, arrivals)


def _gated_stage(
    store: GatedStore, clock: Clock, articles: list[Article], start_clusterer: StartClusterer
) -> tuple[ClusterStage, Callable[[], list[str | None]]]:
    """A stage checkpointing every 4 articles to `store`, `articles` waiting for it, and a
    function that hands it the next 4 and returns the keys of the messages it releases for
    commit then."""
    bus = _waiting(articles)
    settings = _checkpoints_every(1e6, 4)
    clusterer = start_clusterer(settings)
    policy = CheckpointPolicy(settings, clock)
    stage = ClusterStage(bus, TOPICS, clusterer, Checkpointer(clusterer.snapshot, [store], policy))
    consumer = bus.consumer([TOPICS.extracted], "cluster")

    def next_batch() -> list[str | None]:
        clock.now += 1.0
        stage.handle(consumer.poll(4, 0))
        stage.finish()
        return _keys(stage.committable(closing=False))

    return stage, next_batch


def test_a_checkpoint_written_in_the_background_releases_what_it_holds_once_stored(
    tmp_path: Path, start_clusterer: StartClusterer
) -> None:
    clock, articles = Clock(), _articles(12)
    store = GatedStore(tmp_path / "cluster-state")
    stage, next_batch = _gated_stage(store, clock, articles, start_clusterer)
    assert stage.checkpointer is not None
    assert next_batch() == []  # checkpoint 1 (articles 0-3) is being written
    assert next_batch() == []  # the stream goes on; no second checkpoint meanwhile
    assert store.arrivals() is None
    store.gate.set()
    stage.checkpointer.wait()
    assert store.arrivals() == 4
    # it holds the window as it stood when it began, not the 8 articles it holds now
    assert len(StoryClusterer.from_bytes(store.load(), ClusterSettings())) == 4
    assert len(stage.clusterer) == 8
    assert _keys(stage.committable(closing=False)) == [articles[3].id]
    stage.finish()  # idle: checkpoint 2 (0-7) begins
    stage.checkpointer.wait()
    assert _keys(stage.committable(closing=False)) == [articles[7].id]
    store.gate.clear()
    assert next_batch() == []  # checkpoint 3 (0-11) waits at the gate
    store.gate.set()
    assert _keys(stage.committable(closing=True)) == [articles[11].id]
    assert store.arrivals() == 12


def test_a_failed_checkpoint_releases_nothing_and_the_next_one_makes_it_good(
    tmp_path: Path, start_clusterer: StartClusterer
) -> None:
    clock, articles = Clock(), _articles(4)
    store = GatedStore(tmp_path / "cluster-state", failures=1)
    stage, next_batch = _gated_stage(store, clock, articles, start_clusterer)
    assert stage.checkpointer is not None
    assert next_batch() == []
    store.gate.set()
    stage.checkpointer.wait()  # checkpoint 1 failed
    assert store.arrivals() is None
    store.gate.clear()
    clock.now += 1.0
    stage.finish()  # idle: its articles are due again, 2 begins
    assert stage.committable(closing=False) == []
    store.gate.set()
    stage.checkpointer.wait()
    assert _keys(stage.committable(closing=False)) == [articles[3].id]
    assert store.arrivals() == 4


def _keys(messages: Sequence[Message]) -> list[str | None]:
    return [message.key for message in messages]


def test_a_checkpoint_holds_no_article_whose_records_are_not_published(
    tmp_path: Path, start_clusterer: StartClusterer
) -> None:
    # Were a batch the clusterer already added in a checkpoint, a crash before its records
    # went out would lose them: delivered again, its articles are known ids, and the merges
    # they caused are not reported twice.
    settings = _checkpoints_every(1e6, 4)
    bus = _waiting(_articles(12))
    store = FileCheckpoints(tmp_path / "cluster-state")
    stage, worker = _stage(bus, start_clusterer(settings), store, settings)
    for _ in range(3):  # a checkpoint is due once the first batch is published
        stage.handle(worker.consumer.poll(4, 0))
    assert stage.checkpointer is not None
    stage.checkpointer.wait()
    published = {article_id for article_id, _ in _stories(bus)}
    checkpointed = StoryClusterer.from_bytes(store.load(), settings)
    assert (len(published), len(checkpointed)) == (8, 8)  # the third batch is in hand
    assert store.arrivals() == 8

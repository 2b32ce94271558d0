"""Checkpoints: when they are due, restoring the newest, and the cluster stage committing
offsets only once a checkpoint holds their articles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from benchmarks.cluster_data import as_article
from connectors.memory_bus import MemoryBus
from newsflow.bus import Topics, encode
from newsflow.clustering import StoryClusterer
from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    FileCheckpoints,
    restore,
)
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, document_of
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article
from tests.cluster.conftest import event_write_up

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
    policy.handled(99)
    clock.now = 29.0
    assert not policy.due()
    policy.handled(1)
    assert policy.due()  # the record count
    policy.written(cost_s=5.0)  # a slow checkpoint: the next waits 50 s, 10 times its cost
    policy.handled(500)
    clock.now += 49.0
    assert not policy.due()
    clock.now += 1.0
    assert policy.due()
    policy.written(cost_s=0.1)
    clock.now += 30.0
    assert policy.due()  # the interval alone, without records


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


def _stage(
    bus: MemoryBus, clusterer: StoryClusterer, store: FileCheckpoints, settings: ClusterSettings
) -> tuple[ClusterStage, Worker]:
    ticks = iter(range(1_000_000))
    policy = CheckpointPolicy(settings, clock=lambda: float(next(ticks)))  # 1 s a look
    handler = ClusterStage(bus, TOPICS, clusterer, Checkpointer(clusterer, [store], policy))
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    return handler, Worker("cluster", consumer, handler.handle, handler.committable)


def _stories(bus: MemoryBus) -> Iterator[tuple[str, str | None]]:
    for message in bus.records(TOPICS.clustered):
        article = Article.model_validate_json(message.value)
        yield article.id, article.story_id


def test_offsets_are_committed_only_at_checkpoints_and_a_crash_replays_into_the_state(
    tmp_path: Path,
) -> None:
    settings = ClusterSettings(
        checkpoint_interval_s=1e6, checkpoint_records=10, checkpoint_max_share=1.0
    )
    articles = _articles(24)
    uninterrupted = StoryClusterer(settings)
    expected = {a.id: uninterrupted.add(document_of(a)).story_id for a in articles}

    bus = MemoryBus()
    for article in articles:
        bus.publish(TOPICS.extracted, article.id, encode(article))
    store = FileCheckpoints(tmp_path / "cluster-state")
    first, worker = _stage(bus, StoryClusterer(settings), store, settings)
    limits = BatchLimits(max_records=4, max_wait_s=0.05)
    # A crash after 16 articles: handled in batches of 4, checkpointed after the 12th.
    for _ in range(4):
        handle_one_batch(worker, limits)
    assert store.arrivals() == 12
    assert [m.key for m in bus.consumer([TOPICS.extracted], "cluster").poll(100, 0)] == [
        a.id for a in articles[12:]
    ]

    restored = restore([store], settings)
    _, worker = _stage(bus, restored, store, settings)
    run_workers([worker], StopFlag(), limits, until=lambda: worker.stats.messages >= 12)
    assert worker.stats.messages == 12  # articles 12-23: 12-15 a second time
    assert dict(_stories(bus)) == expected  # redelivered ones got their stories again
    assert store.arrivals() == 24  # stopping wrote a last checkpoint and committed it
    assert bus.consumer([TOPICS.extracted], "cluster").poll(100, 0) == []
    assert first.committable(closing=False) == []  # the crashed stage never released 12-15


def handle_one_batch(worker: Worker, limits: BatchLimits) -> None:
    """One batch, handled and committed as the runner does, without closing the worker."""
    batch = worker.consumer.poll(limits.max_records, limits.max_wait_s)
    worker.handler(batch)
    assert worker.committable is not None
    worker.consumer.commit(worker.committable(False))


def test_an_idle_stage_writes_the_checkpoint_due_by_time_and_commits(tmp_path: Path) -> None:
    settings = ClusterSettings(
        checkpoint_interval_s=30, checkpoint_records=1000, checkpoint_max_share=1.0
    )
    bus = MemoryBus()
    for article in _articles(4):
        bus.publish(TOPICS.extracted, article.id, encode(article))
    clock, store = Clock(), FileCheckpoints(tmp_path / "cluster-state")
    clusterer = StoryClusterer(settings)
    policy = CheckpointPolicy(settings, clock)
    handler = ClusterStage(bus, TOPICS, clusterer, Checkpointer(clusterer, [store], policy))
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    worker = Worker("cluster", consumer, handler.handle, handler.committable)
    rounds = iter(range(100))
    committed_while_running: list[bool] = []

    def committed() -> bool:
        if worker.stats.batches == 1:
            clock.now = 31.0  # no article arrives any more, and the interval passes
        if not bus.consumer([TOPICS.extracted], "cluster").poll(100, 0):
            committed_while_running.append(store.arrivals() == 4)
        return bool(committed_while_running) or next(rounds) == 99

    run_workers([worker], StopFlag(), BatchLimits(max_records=10, max_wait_s=0.01), committed)
    assert worker.stats.messages == 4
    assert committed_while_running == [True]  # checkpointed and committed before stopping

"""The pipeline assembled from settings: which bus, which store, the clusterer and its state.

    source -> fetch -> extract --(extracted)--> cluster --(clustered, stories)--> index
                                                                   \\--(dead letter)--> log

`Pipeline.publish` is the end of the producing half (`newsflow.ingest`); `Pipeline.process`
runs the consuming stages in this process until the bus is drained. With Kafka configured,
the same stages also run as separate consumer services (`newsflow serve STAGE`), and
`process` runs them until the published articles reached the store, or only waits for that
when `[kafka] services_running` says the services do the work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from connectors.memory_bus import MemoryBus
from connectors.search import open_remote_store
from connectors.sqlite_store import SqliteStore
from newsflow.bus import Bus, Message, Topics
from newsflow.cluster_state import checkpointer, restored_clusterer
from newsflow.clustering import StoryClusterer
from newsflow.config import Settings
from newsflow.consumer_loop import BatchLimits, Stage, StopFlag, run_stages
from newsflow.stages import (
    ClusterStage,
    IndexStage,
    StageHandler,
    commit_gate,
    drain,
    publish_article,
)
from newsflow.store import SearchStore
from schemas import Article

STAGES = ("cluster", "index", "dead-letter-log")


@dataclass(frozen=True)
class Subscription:
    """What a consuming stage reads, and as which consumer group."""

    stage: str
    topics: list[str]
    group: str


def subscriptions(settings: Settings) -> dict[str, Subscription]:
    """The consuming stages by name; groups are `<[kafka] group_prefix>-<stage>`."""
    topics = Topics.from_settings(settings.kafka)
    reads = {
        "cluster": [topics.extracted],
        "index": [topics.clustered, topics.stories],
        "dead-letter-log": [topics.dead_letter],
    }
    prefix = settings.kafka.group_prefix
    return {name: Subscription(name, reads[name], f"{prefix}-{name}") for name in STAGES}


def open_bus(settings: Settings) -> Bus:
    """The bus the settings select: the in-process bus unless Kafka is configured."""
    if settings.kafka.bootstrap:
        from connectors.kafka import KafkaBus

        return KafkaBus(settings.kafka)
    return MemoryBus()


def open_store(settings: Settings) -> SearchStore:
    """The search store the settings select: Elasticsearch or OpenSearch when a URL is set
    (`NEWSFLOW_ES_URL`, `NEWSFLOW_OPENSEARCH_URL`), else SQLite under the data dir."""
    remote = open_remote_store(settings.search)
    return remote if remote is not None else SqliteStore.in_data_dir(settings.data_dir)


def open_clusterer(settings: Settings) -> StoryClusterer:
    """The clusterer, restored from its newest checkpoint when there is one."""
    return restored_clusterer(settings)


@dataclass
class DeadLetterLog:
    """Appends dead-lettered messages to a JSON-lines file: the embedded failure log."""

    path: Path
    name: str = "dead-letter-log"

    def handle(self, messages: Sequence[Message]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            for message in messages:
                record = {
                    "key": message.key,
                    "headers": dict(message.headers),
                    "value": message.value.decode("utf-8", errors="replace"),
                }
                log.write(json.dumps(record, ensure_ascii=False) + "\n")


@dataclass
class ProcessReport:
    """How many messages each consuming stage handled."""

    handled: dict[str, int] = field(default_factory=dict)


class Pipeline:
    """Bus, store and clusterer for one process, opened from settings."""

    def __init__(self, settings: Settings, clusterer: StoryClusterer | None = None) -> None:
        """`clusterer`: one already restored; by default it is restored on first use."""
        self.settings = settings
        self.topics = Topics.from_settings(settings.kafka)
        self.bus = open_bus(settings)
        self.store = open_store(settings)
        self._clusterer = clusterer
        self.published: list[str] = []

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def clusterer(self) -> StoryClusterer:
        if self._clusterer is None:
            self._clusterer = open_clusterer(self.settings)
        return self._clusterer

    def publish(self, article: Article) -> None:
        """Hand an extracted article to the consuming stages."""
        publish_article(self.bus, self.topics.extracted, article, "extract")
        self.published.append(article.id)

    def handler(self, stage: str) -> StageHandler:
        """The handler of one consuming stage (see `STAGES`)."""
        if stage == "cluster":
            clusterer = self.clusterer
            return ClusterStage(
                self.bus, self.topics, clusterer, checkpointer(self.settings, clusterer)
            )
        if stage == "index":
            return IndexStage(self.bus, self.topics, self.store)
        if stage == "dead-letter-log":
            return DeadLetterLog(self.settings.data_dir / "dead-letter.jsonl")
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")

    def stages(self, names: Sequence[str] = STAGES) -> list[Stage]:
        """Consumer-loop stages (consumer + handler) for `names`, for `run_stages`."""
        stages = []
        for name in names:
            handler = self.handler(name)  # raises on an unknown name before subscribing
            subscription = subscriptions(self.settings)[name]
            # Alone in this process's command: no group join (see connectors.kafka.consumer).
            consumer = self.bus.consumer(subscription.topics, subscription.group, join_group=False)
            stages.append(Stage(name, consumer, handler.handle, commit_gate(handler)))
        return stages

    def process(self) -> ProcessReport:
        """Run clustering, indexing and the failure log until the published articles are
        processed: drained in-process, or on Kafka until they reached the store."""
        self.bus.flush()
        if self.settings.kafka.bootstrap:
            return self._process_on_kafka()
        report = ProcessReport()
        for subscription in subscriptions(self.settings).values():
            handler = self.handler(subscription.stage)
            consumer = self.bus.consumer(subscription.topics, subscription.group)
            try:
                report.handled[handler.name] = drain(consumer, handler)
            finally:
                consumer.close()
        return report

    def _process_on_kafka(self) -> ProcessReport:
        kafka = self.settings.kafka
        deadline = time.monotonic() + kafka.process_timeout_s
        wanted = set(self.published)

        def stored() -> bool:
            if len(self.store.get_articles(list(wanted))) == len(wanted):
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the published articles did not all reach the store within "
                    f"{kafka.process_timeout_s:.0f}s; see `newsflow status`"
                )
            return False

        if kafka.services_running:
            while not stored():
                time.sleep(0.5)
            return ProcessReport()
        stages = self.stages()
        limits = BatchLimits(kafka.batch_max_records, kafka.batch_max_wait_ms / 1000)
        run_stages(stages, StopFlag(), limits, until=stored)
        return ProcessReport({stage.name: stage.stats.messages for stage in stages})

    def close(self) -> None:
        self.bus.close()
        self.store.close()

"""The pipeline assembled from settings: which bus, which store, the clusterer and its state.

    source -> fetch -> extract --(extracted)--> cluster --(clustered, stories)--> index
                                                                   \\--(dead letter)--> log

`Pipeline.publish` is the end of the producing half (`newsflow.ingest`); `Pipeline.process`
runs the consuming stages in this process until the bus is drained. With Kafka configured,
the same stages also run as separate consumer services.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from connectors.memory_bus import MemoryBus
from connectors.sqlite_store import SqliteStore
from newsflow.bus import Bus, Message, Topics
from newsflow.clustering import StoryClusterer
from newsflow.config import Settings
from newsflow.stages import ClusterStage, IndexStage, StageHandler, drain, publish_article
from newsflow.store import SearchStore
from schemas import Article

CLUSTER_GROUP = "newsflow-cluster"
INDEX_GROUP = "newsflow-index"
DEAD_LETTER_GROUP = "newsflow-dead-letter-log"


def open_bus(settings: Settings) -> Bus:
    """The bus the settings select: the in-process bus unless Kafka is configured."""
    return MemoryBus()


def open_store(settings: Settings) -> SearchStore:
    """The search store the settings select: SQLite under the data dir by default."""
    return SqliteStore.in_data_dir(settings.data_dir)


def open_clusterer(settings: Settings) -> StoryClusterer:
    """The clusterer, restored from its last snapshot when there is one."""
    path = clusterer_state_path(settings)
    if path.exists():
        return StoryClusterer.load(path, settings.cluster)
    return StoryClusterer(settings.cluster)


def clusterer_state_path(settings: Settings) -> Path:
    return settings.data_dir / "cluster-state"


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

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = Topics.from_settings(settings.kafka)
        self.bus = open_bus(settings)
        self.store = open_store(settings)
        self._clusterer: StoryClusterer | None = None
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

    def process(self) -> ProcessReport:
        """Run clustering, indexing and the failure log in this process until drained."""
        self.bus.flush()
        report = ProcessReport()
        stages: list[tuple[list[str], str, StageHandler]] = [
            (
                [self.topics.extracted],
                CLUSTER_GROUP,
                ClusterStage(
                    self.bus, self.topics, self.clusterer, clusterer_state_path(self.settings)
                ),
            ),
            (
                [self.topics.clustered, self.topics.stories],
                INDEX_GROUP,
                IndexStage(self.bus, self.topics, self.store),
            ),
            (
                [self.topics.dead_letter],
                DEAD_LETTER_GROUP,
                DeadLetterLog(self.settings.data_dir / "dead-letter.jsonl"),
            ),
        ]
        for topics, group, handler in stages:
            consumer = self.bus.consumer(topics, group)
            try:
                report.handled[handler.name] = drain(consumer, handler)
            finally:
                consumer.close()
        return report

    def close(self) -> None:
        self.bus.close()
        self.store.close()

"""The link stage's cost on the stream, as a fraction of the article rate.

Feeds a stream of articles (the multilingual development set, plus the English same-story dev
file dated into its week, all in time order) through the real cluster and link stages on the
in-process bus: each round publishes `--batch` articles, then the cluster stage and the link
stage each handle what is new for them, saving their state after each batch as the services
do. Reports, from one run: CPU seconds per article of each stage, the link stage's as a
fraction of the cluster stage's, stories embedded per article and per story, and the article
rate each stage keeps up with on one core.

    python benchmarks/link_stream.py [--dev ../shared/.../allsides_val.jsonl] [--no-dev]
                                     [--batch 100] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import SAME_STORY, Labelled, read_labelled
from benchmarks.link_eval import MULTILINGUAL, in_week
from connectors.memory_bus import MemoryBus
from newsflow.bus import Message, Topics, decode
from newsflow.clustering import StoryClusterer
from newsflow.clustering.checkpoint import Checkpointer, CheckpointPolicy, FileCheckpoints
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.extract import article_from_text
from newsflow.linking import Embedder
from newsflow.linking.stage import open_link_stage
from newsflow.sources import SourceItem
from newsflow.stages import ClusterStage, StageHandler, publish_article
from schemas import Article

_FETCHED = datetime(2025, 3, 20, tzinfo=UTC)


@dataclass
class TimedStage:
    """A stage handler with the CPU and wall time it spent, and the messages it handled."""

    handler: StageHandler
    cpu: float = 0.0
    wall: float = 0.0
    messages: int = 0

    def handle(self, messages: Sequence[Message]) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        self.handler.handle(messages)
        self.cpu += time.process_time() - cpu
        self.wall += time.perf_counter() - wall
        self.messages += len(messages)


@dataclass
class CpuTimedEmbedder:
    """An embedder with the CPU time its texts took."""

    inner: Embedder
    cpu: float = 0.0

    def embed(self, text: str) -> NDArray[np.float32]:
        started = time.process_time()
        vector = self.inner.embed(text)
        self.cpu += time.process_time() - started
        return vector


def stream(rows: list[Labelled]) -> list[Article]:
    """The rows as extracted articles, in time order."""
    articles = []
    for row in sorted(rows, key=lambda row: row.doc.published_at or _FETCHED):
        doc = row.doc
        item = SourceItem(
            url=doc.url or f"https://bench.example.org/{doc.id}",
            source=doc.source,
            title=doc.title,
            published_at=doc.published_at,
            text=doc.text,
        )
        article = article_from_text(item, _FETCHED)
        if isinstance(article, Article):
            articles.append(article)
    return articles


def main(argv: list[str] | None = None) -> int:
    """Run the stream and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=SAME_STORY / "allsides_val.jsonl")
    parser.add_argument("--no-dev", action="store_true", help="the multilingual set only")
    parser.add_argument("--batch", type=int, default=100, help="articles published per round")
    parser.add_argument("--limit", type=int, default=0, help="first N articles only (0: all)")
    args = parser.parse_args(argv)
    rows = read_labelled(MULTILINGUAL)
    if not args.no_dev:
        rows += in_week(read_labelled(args.dev))
    articles = stream(rows)[: args.limit or None]
    settings = ClusterSettings(cross_language=True)
    bus, topics = MemoryBus(), Topics.from_settings(KafkaSettings())
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        clusterer = StoryClusterer(settings)
        checkpoints = [FileCheckpoints(state / "cluster-state")]
        checkpointer = Checkpointer(clusterer, checkpoints, CheckpointPolicy(settings))
        cluster = TimedStage(ClusterStage(bus, topics, clusterer, checkpointer))
        link_stage = open_link_stage(bus, topics, settings, state / "link-state")
        embedder = link_stage.linker.embedder = CpuTimedEmbedder(link_stage.linker.embedder)
        link = TimedStage(link_stage)
        cluster_in = bus.consumer([topics.extracted], "cluster")
        link_in = bus.consumer([topics.clustered, topics.stories], "link")
        for start in range(0, len(articles), args.batch):
            for article in articles[start : start + args.batch]:
                publish_article(bus, topics.extracted, article, "bench")
            for stage, consumer in ((cluster, cluster_in), (link, link_in)):
                while batch := consumer.poll(args.batch * 4, 0):
                    stage.handle(batch)
                    consumer.commit(batch)
    count = len(articles)
    stories = len({decode(m, Article).story_id for m in bus.records(topics.clustered)})
    embeddings = link_stage.linker.embeddings
    per_cluster, per_link = cluster.cpu / count, link.cpu / count
    print(
        f"{count} articles ({len({a.language for a in articles})} languages) in batches of "
        f"{args.batch}: {stories} stories, {embeddings} embeddings "
        f"({embeddings / count:.2f} per article, {embeddings / max(stories, 1):.2f} per story)"
    )
    print(
        f"cluster stage: {per_cluster * 1000:.2f} ms CPU per article "
        f"({1 / per_cluster:.0f} articles/s on one core; wall {cluster.wall:.1f} s)"
    )
    print(
        f"link stage:    {per_link * 1000:.2f} ms CPU per article "
        f"({1 / per_link:.1f} articles/s on one core; wall {link.wall:.1f} s; "
        f"{link.messages} messages, story records included), of which embedding "
        f"{embedder.cpu / count * 1000:.2f} ms ({embedder.cpu / max(embeddings, 1) * 1000:.0f} ms "
        "per embedding)"
    )
    print(f"link/cluster CPU per article: {per_link / per_cluster:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The link stage on the in-process bus, between the real cluster and index stages: linked
stories are one story in the store, whatever the order of the topics' messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.cluster_data import syndicated_copy
from connectors.memory_bus import MemoryBus
from connectors.sqlite_store import SqliteStore
from newsflow.bus import Topics, decode
from newsflow.clustering import Document
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.extract import article_from_text
from newsflow.linking import E5Embedder, StoryLinker
from newsflow.linking.stage import LinkStage, group_record, link_topics, open_link_stage
from newsflow.linking.state import LinkStateError
from newsflow.outcomes import Skip
from newsflow.stages import ClusterStage, IndexStage, StageHandler, publish_article
from newsflow.worker import CommitGate
from schemas import Article, Story
from tests.conftest import StartClusterer
from tests.linking.conftest import qwq_stream, source_item

_FETCHED = datetime(2025, 3, 8, tzinfo=UTC)


def _article(doc: Document) -> Article:
    article = article_from_text(source_item(doc), _FETCHED)
    assert not isinstance(article, Skip)
    return article


def _drain(bus: MemoryBus, topics: list[str], group: str, handler: StageHandler) -> None:
    """Feed `handler` batches of 3 and commit each, until the group has read everything."""
    consumer = bus.consumer(topics, group)
    while batch := consumer.poll(3, 0):
        handler.handle(batch)
        consumer.commit(batch)
    if isinstance(handler, CommitGate):  # the input is idle: its batch in hand is finished
        handler.finish()


@dataclass
class Topology:
    """The cluster, link and index stages on one in-process bus, each with its own group."""

    settings: ClusterSettings
    model: E5Embedder
    store_path: Path
    start_clusterer: StartClusterer
    bus: MemoryBus = field(default_factory=MemoryBus)
    topics: Topics = field(default_factory=lambda: Topics.from_settings(KafkaSettings()))

    link_state: Path | None = None

    def __post_init__(self) -> None:
        self.cluster = ClusterStage(self.bus, self.topics, self.start_clusterer(self.settings))
        linker = StoryLinker(self.settings, self.model)
        self.link = LinkStage(self.bus, self.topics, linker, self.link_state)
        self.store = SqliteStore(self.store_path)

    def restart_link_stage(self) -> None:
        """A new link stage, restored from its state file as a restarted service would be."""
        self.link = open_link_stage(self.bus, self.topics, self.settings, self.link_state)

    def publish(self, docs: list[Document]) -> None:
        for doc in docs:
            publish_article(self.bus, self.topics.extracted, _article(doc), "test")

    def run(self) -> None:
        """Cluster what was published, then link it, then index it."""
        topics = self.topics
        _drain(self.bus, [topics.extracted], "cluster", self.cluster)
        _drain(self.bus, link_topics(topics), "link", self.link)
        index = IndexStage(self.bus, topics, self.store)
        _drain(self.bus, [topics.clustered, topics.stories], "index", index)


def _unclustered_pair() -> tuple[list[Document], Document]:
    """The English seeds, and the German write-up that the clusterer alone keeps apart from
    the second of them (the first shares enough names with it to join it by itself)."""
    stream = qwq_stream()
    return [doc for doc in stream if doc.id.endswith(".txt")], next(
        doc for doc in stream if doc.id == "qwq-de"
    )


def test_linked_stories_are_one_story_in_the_store(
    tmp_path: Path,
    linking_settings: ClusterSettings,
    model: E5Embedder,
    start_clusterer: StartClusterer,
) -> None:
    topology = Topology(linking_settings, model, tmp_path / "store.db", start_clusterer)
    stream = qwq_stream()
    articles = {doc.id: _article(doc) for doc in stream}
    topology.publish(stream)
    topology.run()
    bus, topics, stage, store = topology.bus, topology.topics, topology.link, topology.store

    qwq = [articles[key] for key in articles if key.endswith(".txt") or key.startswith("qwq-")]
    stored = store.get_articles([article.id for article in qwq])
    (story_id,) = {article.story_id for article in stored}
    listed = {story.id: story for story in store.stories(limit=50)}
    story = listed[story_id]
    assert story.languages == ["de", "en", "fr"]
    assert story.article_count == 4
    assert len(story.merged_from) >= 1
    others = store.get_articles([articles["manus-es"].id, articles["gpt45-de"].id])
    assert {article.story_id for article in others}.isdisjoint({story_id})
    assert len(listed) == 3  # the launch, Manus, GPT-4.5
    unlinked = Topology(
        linking_settings.model_copy(update={"link_threshold": 1.0}),
        model,
        tmp_path / "u.db",
        start_clusterer,
    )
    unlinked.publish(stream)
    unlinked.run()
    assert len(unlinked.store.stories(limit=50)) == 4  # the clusterer alone: en apart from de+fr

    # A redelivered batch and the stage's own records change nothing.
    before = bus.records(topics.stories)
    stage.handle(bus.records(topics.clustered))
    stage.handle([m for m in before if m.headers.get("newsflow.stage") == "link"])
    again = bus.records(topics.stories)[len(before) :]
    assert {decode(m, Story).model_dump_json() for m in again} <= {
        decode(m, Story).model_dump_json() for m in before
    }


def test_a_story_growing_after_its_link_stays_in_the_group(
    tmp_path: Path,
    linking_settings: ClusterSettings,
    model: E5Embedder,
    start_clusterer: StartClusterer,
) -> None:
    topology = Topology(linking_settings, model, tmp_path / "store.db", start_clusterer)
    english, german = _unclustered_pair()
    topology.publish([english[1], german])
    topology.run()
    # The first English write-up arrives late and joins the English story; the cluster stage
    # republishes that story alone, and the link stage folds it into the group again.
    topology.publish([english[0]])
    topology.run()
    store = topology.store
    stories = store.stories(limit=10)
    assert len(stories) == 1
    assert stories[0].languages == ["de", "en"]
    assert stories[0].article_count == 3
    stored = store.get_articles([_article(doc).id for doc in [*english, german]])
    assert {article.story_id for article in stored} == {stories[0].id}


def test_a_restarted_stage_keeps_its_links(
    tmp_path: Path,
    linking_settings: ClusterSettings,
    model: E5Embedder,
    start_clusterer: StartClusterer,
) -> None:
    state = tmp_path / "link-state"
    topology = Topology(
        linking_settings, model, tmp_path / "store.db", start_clusterer, link_state=state
    )
    english, german = _unclustered_pair()
    topology.publish([english[1], german])
    topology.run()
    assert state.exists()
    # After a restart the German story (absorbed: it is the newer) gets another article; the
    # cluster stage republishes it alone, and the restored stage must fold it in again.
    topology.restart_link_stage()
    topology.publish([syndicated_copy(german)])
    topology.run()
    stories = topology.store.stories(limit=10)
    assert [(story.languages, story.article_count) for story in stories] == [(["de", "en"], 3)]


def test_a_damaged_state_file_is_refused_with_its_name(
    tmp_path: Path, linking_settings: ClusterSettings
) -> None:
    state = tmp_path / "link-state"
    state.write_bytes(b"not gzip")
    bus, topics = MemoryBus(), Topics.from_settings(KafkaSettings())
    with pytest.raises(LinkStateError, match="link-state"):
        open_link_stage(bus, topics, linking_settings, state)


def _story(story_id: str, count: int, languages: list[str], **update: object) -> Story:
    when = datetime(2025, 3, 6, tzinfo=UTC)
    return Story(
        id=story_id,
        headline=f"headline {story_id}",
        first_seen=when,
        last_seen=when,
        article_count=count,
        sources=[f"outlet {story_id}"],
        languages=languages,
    ).model_copy(update=update)


def test_group_record_counts_each_article_once_and_lists_the_group() -> None:
    root = _story("aaaa0001", 3, ["en"], merged_from=["aaaa0003"])
    linked = _story("aaaa0002", 2, ["de"])
    merged_by_clusterer = _story("aaaa0003", 1, ["en"], merged_into="aaaa0001")
    record = group_record(root, [root, linked, merged_by_clusterer])
    assert record.id == "aaaa0001"
    assert record.article_count == 5
    assert record.languages == ["de", "en"]
    assert record.merged_from == ["aaaa0003", "aaaa0002"]
    assert record.merged_into is None

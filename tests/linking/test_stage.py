"""The link stage on the in-process bus, between the real cluster and index stages: linked
stories are one story in the store, whatever the order of the topics' messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from connectors.memory_bus import MemoryBus
from connectors.sqlite_store import SqliteStore
from newsflow.bus import Topics, decode
from newsflow.clustering import Document, StoryClusterer
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.extract import article_from_text
from newsflow.linking import E5Embedder, StoryLinker
from newsflow.linking.stage import LinkStage, group_record, link_topics, open_link_stage
from newsflow.outcomes import Skip
from newsflow.sources import SourceItem
from newsflow.stages import ClusterStage, IndexStage, drain, publish_article
from schemas import Article, Story
from tests.linking.conftest import qwq_stream

_FETCHED = datetime(2025, 3, 8, tzinfo=UTC)


def _article(doc: Document) -> Article:
    url = doc.url or f"https://news.example.com/{doc.id}"
    item = SourceItem(
        url=url, source=doc.source, title=doc.title, published_at=doc.published_at, text=doc.text
    )
    article = article_from_text(item, _FETCHED)
    assert not isinstance(article, Skip)
    return article


@dataclass
class Topology:
    """The cluster, link and index stages on one in-process bus, each with its own group."""

    settings: ClusterSettings
    model: E5Embedder
    store_path: Path
    bus: MemoryBus = field(default_factory=MemoryBus)
    topics: Topics = field(default_factory=lambda: Topics.from_settings(KafkaSettings()))

    def __post_init__(self) -> None:
        self.cluster = ClusterStage(self.bus, self.topics, StoryClusterer(self.settings))
        self.link = LinkStage(self.bus, self.topics, StoryLinker(self.settings, self.model))
        self.store = SqliteStore(self.store_path)

    def publish(self, docs: list[Document]) -> None:
        for doc in docs:
            publish_article(self.bus, self.topics.extracted, _article(doc), "test")

    def run(self) -> None:
        """Cluster what was published, then link it (small batches), then index it."""
        topics = self.topics
        drain(self.bus.consumer([topics.extracted], "cluster"), self.cluster)
        drain(self.bus.consumer(link_topics(topics), "link"), self.link, batch_size=3)
        index = IndexStage(self.bus, topics, self.store)
        drain(self.bus.consumer([topics.clustered, topics.stories], "index"), index)


def test_linked_stories_are_one_story_in_the_store(
    tmp_path: Path, linking_settings: ClusterSettings, model: E5Embedder
) -> None:
    topology = Topology(linking_settings, model, tmp_path / "store.db")
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

    # A redelivered batch and the stage's own records change nothing.
    before = bus.records(topics.stories)
    stage.handle(bus.records(topics.clustered))
    stage.handle([m for m in before if m.headers.get("newsflow.stage") == "link"])
    again = bus.records(topics.stories)[len(before) :]
    assert {decode(m, Story).model_dump_json() for m in again} <= {
        decode(m, Story).model_dump_json() for m in before
    }


def test_a_story_growing_after_its_link_stays_in_the_group(
    tmp_path: Path, linking_settings: ClusterSettings, model: E5Embedder
) -> None:
    topology = Topology(linking_settings, model, tmp_path / "store.db")
    stream = qwq_stream()
    english = [doc for doc in stream if doc.id.endswith(".txt")]
    german = [doc for doc in stream if doc.id == "qwq-de"]
    topology.publish([english[0], *german])
    topology.run()
    # The second English write-up arrives later; the cluster stage republishes its story alone.
    topology.publish([english[1]])
    topology.run()
    store = topology.store
    stories = store.stories(limit=10)
    assert len(stories) == 1
    assert stories[0].languages == ["de", "en"]
    assert stories[0].article_count == 3
    stored = store.get_articles([_article(doc).id for doc in [*english, *german]])
    assert {article.story_id for article in stored} == {stories[0].id}


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


def test_the_stage_exists_only_with_cross_language_on(linking_settings: ClusterSettings) -> None:
    bus, topics = MemoryBus(), Topics.from_settings(KafkaSettings())
    off = linking_settings.model_copy(update={"cross_language": False})
    assert open_link_stage(bus, topics, off) is None
    stage = open_link_stage(bus, topics, linking_settings)
    assert isinstance(stage, LinkStage)
    assert stage.name == "link"

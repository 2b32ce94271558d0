"""The cluster stage on the in-process bus: what it publishes for a batch."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.cluster_data import as_article
from connectors.memory_bus import MemoryBus
from newsflow.bus import Topics
from newsflow.clustering import Document
from newsflow.clustering.analysis import Analysed, Analyser
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, publish_article
from schemas import Article, Story
from tests.cluster.conftest import bridged_stories, event_write_up
from tests.conftest import StartClusterer

TOPICS = Topics.from_settings(KafkaSettings())


def _handle(stage: ClusterStage, bus: MemoryBus, documents: Sequence[Document]) -> None:
    """Publish `documents` as extracted articles and hand them to `stage` as one batch."""
    for article in map(as_article, documents):
        publish_article(bus, TOPICS.extracted, article, "extract")
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    batch = consumer.poll(1000, 0)
    stage.handle(batch)
    stage.finish()  # as on the empty poll that follows
    consumer.commit(stage.committable(False))


def _story_records(bus: MemoryBus) -> list[Story]:
    return [Story.model_validate_json(m.value) for m in bus.records(TOPICS.stories)]


def test_a_batch_publishes_each_story_it_touched_once_as_it_stands_at_the_end(
    start_clusterer: StartClusterer,
) -> None:
    bus = MemoryBus()
    stage = ClusterStage(bus, TOPICS, start_clusterer(ClusterSettings()))
    _handle(stage, bus, [event_write_up(f"a{n}", n % 3, 18, f"outlet-{n}") for n in range(9)])
    clustered = [Article.model_validate_json(m.value) for m in bus.records(TOPICS.clustered)]
    assert len(clustered) == 9  # every article, each under its story
    records = _story_records(bus)
    assert sorted(r.id for r in records) == sorted({a.story_id for a in clustered})
    assert [r.article_count for r in records] == [3, 3, 3]

    _handle(stage, bus, [event_write_up("b0", 0, 18, "outlet-late")])
    latest = _story_records(bus)[len(records) :]
    assert [(r.id, r.article_count) for r in latest] == [(records[0].id, 4)]


def test_a_story_merged_away_in_a_batch_is_published_as_merged_into_the_survivor(
    start_clusterer: StartClusterer,
) -> None:
    settings = ClusterSettings(join_threshold=0.3, merge_threshold=0.3)
    bus = MemoryBus()
    stage = ClusterStage(bus, TOPICS, start_clusterer(settings))
    _handle(stage, bus, bridged_stories())
    by_id = {r.id: r for r in _story_records(bus)}
    [absorbed] = [r for r in by_id.values() if r.merged_into is not None]
    survivor = by_id[absorbed.merged_into or ""]
    assert len(by_id) == 2
    assert survivor.merged_from == [absorbed.id]
    assert survivor.article_count == 3


def test_a_new_stage_drops_the_batch_an_earlier_one_left_with_the_clusterer(
    start_clusterer: StartClusterer,
) -> None:
    bus, clusterer = MemoryBus(), start_clusterer(ClusterSettings())
    for article in map(as_article, [event_write_up(f"a{n}", n, 18, f"o{n}") for n in range(6)]):
        publish_article(bus, TOPICS.extracted, article, "extract")
    consumer = bus.consumer([TOPICS.extracted], "cluster")
    ClusterStage(bus, TOPICS, clusterer).handle(consumer.poll(3, 0))  # left in hand
    later = ClusterStage(bus, TOPICS, clusterer)  # e.g. the next in-process run
    later.handle(consumer.poll(3, 0))
    later.finish()
    clustered = [Article.model_validate_json(m.value) for m in bus.records(TOPICS.clustered)]
    assert [a.id for a in clustered] == [m.key for m in bus.records(TOPICS.extracted)][3:]


class _FailsOn(Analyser):
    """Analyses as the clusterer's own analyser does, but for one article id."""

    def __init__(self, analyser: Analyser, article_id: str) -> None:
        super().__init__(analyser.settings)
        self.article_id = article_id

    def analyse(self, doc: Document) -> Analysed:
        if doc.id == self.article_id:
            raise ValueError("no analysis for this one")
        return super().analyse(doc)


def test_an_article_that_cannot_be_analysed_is_dead_lettered_and_the_rest_go_on(
    start_clusterer: StartClusterer,
) -> None:
    bus, clusterer = MemoryBus(), start_clusterer(ClusterSettings())
    documents = [event_write_up(f"a{n}", n % 2, 18, f"outlet-{n}") for n in range(5)]
    poison = as_article(documents[2]).id
    clusterer.analyser = _FailsOn(clusterer.analyser, poison)
    _handle(ClusterStage(bus, TOPICS, clusterer), bus, documents)
    [dead] = bus.records(TOPICS.dead_letter)
    assert dead.key == poison
    assert (
        dict(dead.headers)["dlq.reason"]
        == "cannot be analysed: ValueError: no analysis for this one"
    )
    clustered = [Article.model_validate_json(m.value) for m in bus.records(TOPICS.clustered)]
    assert [a.id for a in clustered] == [a.id for a in map(as_article, documents) if a.id != poison]
    assert len({a.story_id for a in clustered}) == 2

"""The Elasticsearch/OpenSearch search store against a real osmem-server process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.search import RemoteSearchStore, SearchUnavailable
from newsflow.store import FacetCount, SearchFacets, SearchQuery
from newsflow.text import content_hash
from newsflow.urls import article_id
from schemas import Article, Story

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)


def make_article(
    slug: str,
    text: str,
    *,
    title: str = "",
    source: str = "Example Wire",
    language: str | None = "en",
    story_id: str | None = None,
    hours: float = 0.0,
    authors: tuple[str, ...] = (),
) -> Article:
    url = f"https://news.example.com/{slug}"
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        source=source,
        title=title or slug.replace("-", " "),
        text=text,
        lead=text.split("\n")[0],
        authors=list(authors),
        published_at=T0 + timedelta(hours=hours),
        fetched_at=T0 + timedelta(hours=hours + 1),
        language=language,
        content_hash=content_hash(text),
        story_id=story_id,
    )


def make_story(story_id: str, articles: list[Article], **changes: object) -> Story:
    story = Story(
        id=story_id,
        headline=articles[0].title,
        first_seen=min(a.event_time for a in articles),
        last_seen=max(a.event_time for a in articles),
        article_count=len(articles),
        sources=sorted({a.source for a in articles}),
        languages=sorted({a.language for a in articles if a.language}),
    )
    return story.model_copy(update=changes)


FLOOD_STORY = "f100d0000000000000000001"
ELECTION_STORY = "e1ec00000000000000000002"


def news_batch() -> list[Article]:
    return [
        make_article(
            "river-floods-city",
            "Heavy floods hit the river city on Monday.\nThousands were evacuated.",
            title="Floods hit river city",
            story_id=FLOOD_STORY,
        ),
        make_article(
            "floods-continue",
            "Flooding continues in the river city as rain keeps falling.",
            title="Flooding continues",
            source="Example Daily",
            story_id=FLOOD_STORY,
            hours=5,
        ),
        make_article(
            "election-results",
            "The city election ended with a narrow result.",
            title="Election results",
            story_id=ELECTION_STORY,
            hours=2,
        ),
        make_article(
            "hochwasser",
            "Schweres Hochwasser in der Stadt am Fluss floods.",
            title="Hochwasser",
            source="Beispiel Zeitung",
            language="de",
            hours=3,
        ),
    ]


def test_install_puts_templates_and_versioned_indices_behind_aliases(
    store: RemoteSearchStore,
) -> None:
    client = store.backend.client
    for layout in (store.articles, store.story_index):
        assert client.indices.exists_index_template(name=layout.template_name)
        assert set(client.indices.get_alias(name=layout.alias)) == {layout.index}
        mapping = client.indices.get_mapping(index=layout.index)[layout.index]["mappings"]
        assert mapping["dynamic"] == "strict"
    store.install()  # a second start-up changes nothing
    assert set(client.indices.get_alias(name=store.articles.alias)) == {store.articles.index}


def test_install_reattaches_an_alias_someone_removed(store: RemoteSearchStore) -> None:
    client = store.backend.client
    remove = {"remove": {"index": store.articles.index, "alias": store.articles.alias}}
    client.indices.update_aliases(body={"actions": [remove]})
    assert not client.indices.exists_alias(name=store.articles.alias)
    store.install()
    assert set(client.indices.get_alias(name=store.articles.alias)) == {store.articles.index}


def test_corpus_articles_index_once_however_often_delivered(
    store: RemoteSearchStore, corpus_articles: list[Article]
) -> None:
    first = store.upsert_articles(corpus_articles)
    assert (first.written, first.failures) == (len(corpus_articles), [])
    store.refresh()
    assert store.count_articles() == len(corpus_articles)

    again = store.upsert_articles(corpus_articles)
    store.refresh()
    assert again.written == len(corpus_articles)
    assert store.count_articles() == len(corpus_articles)
    ids = [a.id for a in reversed(corpus_articles)]
    assert store.get_articles([*ids, "0" * 24]) == list(reversed(corpus_articles))


def test_search_groups_by_story_with_highlights(store: RemoteSearchStore) -> None:
    batch = news_batch()
    store.upsert_articles(batch)
    store.upsert_stories([make_story(FLOOD_STORY, batch[:2])])
    store.refresh()

    results = store.search(SearchQuery(text="river city"))
    assert [r.story_id for r in results] == [FLOOD_STORY]
    (flood,) = results
    assert flood.story is not None and flood.story.article_count == 2
    assert {h.article.id for h in flood.hits} == {batch[0].id, batch[1].id}
    assert all(any("<em>" in f for f in h.highlights) for h in flood.hits)
    assert flood.hits[0].score >= flood.hits[1].score

    floods = store.search(SearchQuery(text="floods"))
    assert {r.story_id for r in floods} == {FLOOD_STORY, None}
    unclustered = next(r for r in floods if r.story_id is None)
    assert [h.article.id for h in unclustered.hits] == [batch[3].id]
    assert store.search(SearchQuery(text="   ")) == []


def test_search_filters_outlet_language_and_time(store: RemoteSearchStore) -> None:
    batch = news_batch()
    store.upsert_articles(batch)
    store.refresh()

    def found(**filters: object) -> set[str]:
        results = store.search(SearchQuery(text="floods", **filters))  # type: ignore[arg-type]
        return {h.article.id for r in results for h in r.hits}

    assert found() == {batch[0].id, batch[3].id}
    assert found(source="Beispiel Zeitung") == {batch[3].id}
    assert found(language="en") == {batch[0].id}
    assert found(since=T0 + timedelta(hours=1)) == {batch[3].id}
    assert found(until=T0 + timedelta(hours=1)) == {batch[0].id}
    assert found(source="Nobody") == set()


def test_search_facets_count_matching_articles(store: RemoteSearchStore) -> None:
    batch = news_batch()
    late = make_article("floods-recede", "The floods recede.", source="Example Daily", hours=30)
    store.upsert_articles([*batch, late])
    store.refresh()

    facets = store.search_facets(SearchQuery(text="floods"))
    assert facets == SearchFacets(
        sources=[
            FacetCount("Beispiel Zeitung", 1),
            FacetCount("Example Daily", 1),
            FacetCount("Example Wire", 1),
        ],
        languages=[FacetCount("en", 2), FacetCount("de", 1)],
        days=[FacetCount("2025-03-06", 2), FacetCount("2025-03-07", 1)],
    )
    english = store.search_facets(SearchQuery(text="floods", language="en"))
    assert english.languages == [FacetCount("en", 2)]
    assert english.days == [FacetCount("2025-03-06", 1), FacetCount("2025-03-07", 1)]
    assert store.search_facets(SearchQuery(text=" ")) == SearchFacets([], [], [])


def test_stories_page_filter_and_get_one(store: RemoteSearchStore) -> None:
    batch = news_batch()
    flood = make_story(FLOOD_STORY, batch[:2])
    election = make_story(ELECTION_STORY, batch[2:3], merged_from=[FLOOD_STORY[::-1]])
    store.upsert_stories([flood, election])
    store.refresh()

    assert store.stories(limit=1, offset=1) == [election]
    assert store.stories(source="Example Daily") == [flood]
    assert store.stories(source="Example") == []
    assert store.stories(language="de") == []
    assert store.stories(language="en") == [flood, election]
    assert store.get_story(ELECTION_STORY) == election
    assert store.get_story("0" * 24) is None


def test_story_upserts_keep_the_latest_state(store: RemoteSearchStore) -> None:
    batch = news_batch()
    store.upsert_articles(batch)
    early = make_story(FLOOD_STORY, batch[:1])
    later = make_story(FLOOD_STORY, batch[:2])
    election = make_story(ELECTION_STORY, batch[2:3])
    assert store.upsert_stories([early, election]).written == 2
    assert store.upsert_stories([later]).written == 1
    store.refresh()

    assert store.stories(order="biggest") == [later, election]
    assert store.stories(order="latest") == [later, election]
    assert store.stories(since=T0 + timedelta(hours=4)) == [later]
    assert store.stories(until=T0 + timedelta(hours=4)) == [election]
    assert store.stories(limit=1) == [later]
    assert [a.id for a in store.story_articles(FLOOD_STORY)] == [batch[0].id, batch[1].id]
    with pytest.raises(ValueError, match="order"):
        store.stories(order="random")


def test_merged_story_hands_its_articles_over(store: RemoteSearchStore) -> None:
    batch = news_batch()
    store.upsert_articles(batch)
    store.upsert_stories(
        [make_story(FLOOD_STORY, batch[:2]), make_story(ELECTION_STORY, batch[2:3])]
    )
    merged = make_story(ELECTION_STORY, batch[2:3], merged_into=FLOOD_STORY)
    store.upsert_stories([merged])
    store.refresh()

    assert [s.id for s in store.stories()] == [FLOOD_STORY]
    assert {a.id for a in store.story_articles(FLOOD_STORY)} == {a.id for a in batch[:3]}
    assert store.story_articles(ELECTION_STORY) == []


def test_document_the_mapping_rejects_is_reported(store: RemoteSearchStore) -> None:
    """An index created with a conflicting mapping refuses one document; the rest go in."""
    with_authors = make_article("signed", "Signed article text.", authors=("Jane Doe",))
    without = make_article("unsigned", "Unsigned article text.")
    client = store.backend.client
    client.indices.delete(index=store.articles.index)
    client.indices.create(
        index=store.articles.index,
        body={
            "aliases": {store.articles.alias: {"is_write_index": True}},
            "mappings": {"properties": {"authors": {"type": "date"}}},
        },
    )
    report = store.upsert_articles([with_authors, without])
    assert report.written == 1
    (failure,) = report.failures
    assert failure.record_id == with_authors.id
    assert failure.reason.startswith("HTTP 400") and "authors" in failure.reason
    store.refresh()
    assert store.get_articles([with_authors.id, without.id]) == [without]


def test_new_template_version_reindexes_and_swaps_the_alias(store: RemoteSearchStore) -> None:
    """An alias on an older index: start-up moves it to the current version, data included."""
    client = store.backend.client
    old_index = f"{store.articles.alias}-v0"
    client.indices.delete(index=store.articles.index)
    client.indices.create(
        index=old_index, body={"aliases": {store.articles.alias: {"is_write_index": True}}}
    )
    batch = news_batch()
    store.upsert_articles(batch)
    store.refresh()
    assert client.count(index=old_index)["count"] == len(batch)

    store.install()

    assert set(client.indices.get_alias(name=store.articles.alias)) == {store.articles.index}
    store.refresh()
    assert store.count_articles() == len(batch)
    assert client.count(index=store.articles.index)["count"] == len(batch)


def test_indexer_waits_for_a_server_that_went_away(
    backend_kind: str, spawn_server: Callable[[], Any], make_store: Callable[..., RemoteSearchStore]
) -> None:
    """Kill the server mid-run, restart it on the same port: the pending batch gets in.

    osmem keeps everything in memory, so the restarted server is empty: the store notices
    its alias is missing, reinstalls the template and indexes the batch with the shipped
    mapping, never into a dynamically mapped index.
    """
    server = spawn_server()
    store = make_store(backend_kind, server.url, search_retry_max_s=60.0)
    batch = news_batch()
    server.kill()
    restart = threading.Timer(1.5, server.start)
    restart.start()
    report = store.upsert_articles(batch)
    restart.join()
    assert (report.written, report.failures) == (len(batch), [])
    store.refresh()
    assert store.count_articles() == len(batch)
    client = store.backend.client
    assert set(client.indices.get_alias(name=store.articles.alias)) == {store.articles.index}
    assert store.search(SearchQuery(text="election"))[0].hits[0].article.id == batch[2].id


def test_gives_up_visibly_after_the_retry_budget(
    backend_kind: str, spawn_server: Callable[[], Any], make_store: Callable[..., RemoteSearchStore]
) -> None:
    server = spawn_server()
    store = make_store(backend_kind, server.url, search_retry_max_s=1.0)
    server.kill()
    with pytest.raises(SearchUnavailable, match="still failing after"):
        store.upsert_articles(news_batch())

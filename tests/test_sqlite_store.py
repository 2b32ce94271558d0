from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.sqlite_store import SqliteStore, to_fts_query
from newsflow.store import FacetCount, SearchFacets, SearchQuery
from newsflow.text import content_hash
from newsflow.urls import article_id
from schemas import Article, Story

T0 = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)


def article(slug: str, title: str, text: str, *, story: str | None, **extra: object) -> Article:
    url = f"https://news.example.com/{slug}"
    fields: dict[str, object] = {
        "id": article_id(url),
        "url": url,
        "canonical_url": url,
        "source": "Example Wire",
        "title": title,
        "text": text,
        "lead": text[:80],
        "fetched_at": T0,
        "published_at": T0,
        "content_hash": content_hash(text),
        "story_id": story,
        "language": "en",
    }
    fields.update(extra)
    return Article.model_validate(fields)


def story(story_id: str, count: int, *, last_seen: datetime = T0, **extra: object) -> Story:
    fields: dict[str, object] = {
        "id": story_id,
        "headline": f"story {story_id}",
        "first_seen": T0,
        "last_seen": last_seen,
        "article_count": count,
        "sources": ["Example Wire"],
        "languages": ["en"],
    }
    fields.update(extra)
    return Story.model_validate(fields)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore.in_data_dir(tmp_path)


QWQ = article(
    "qwq",
    "Alibaba launches QwQ-32B",
    "Alibaba released QwQ-32B, a reasoning model.",
    story="aaaa1111",
)
QWQ2 = article(
    "qwq-2",
    "Alibaba model rivals DeepSeek",
    "The QwQ-32B model has 32 billion parameters.",
    story="aaaa1111",
    source="Example Daily",
    language="de",
)
RAIL = article(
    "rail", "Rail strike ends", "Train drivers return to work after a deal.", story="bbbb2222"
)


def test_upsert_is_idempotent(store: SqliteStore) -> None:
    store.upsert_articles([QWQ, QWQ2, RAIL])
    store.upsert_articles([QWQ, QWQ2, RAIL])
    assert store.count_articles() == 3
    results = store.search(SearchQuery("QwQ-32B"))
    assert len(results) == 1 and len(results[0].hits) == 2


def test_upsert_replaces_the_stored_version(store: SqliteStore) -> None:
    store.upsert_articles([QWQ])
    store.upsert_articles(
        [QWQ.model_copy(update={"title": "Corrected headline", "story_id": "cccc3333"})]
    )
    [result] = store.search(SearchQuery("corrected"))
    assert result.story_id == "cccc3333"
    assert store.search(SearchQuery("launches")) == []


def test_search_groups_by_story_and_highlights(store: SqliteStore) -> None:
    store.upsert_articles([QWQ, QWQ2, RAIL])
    store.upsert_stories([story("aaaa1111", 2), story("bbbb2222", 1)])
    [result] = store.search(SearchQuery("qwq-32b"))
    assert result.story_id == "aaaa1111"
    assert result.story is not None and result.story.article_count == 2
    assert {h.article.id for h in result.hits} == {QWQ.id, QWQ2.id}
    assert all("<em>" in h.highlights[0] for h in result.hits)


def test_search_filters(store: SqliteStore) -> None:
    store.upsert_articles([QWQ, QWQ2, RAIL])
    only = store.search(SearchQuery("QwQ-32B", source="Example Daily"))
    assert [h.article.id for r in only for h in r.hits] == [QWQ2.id]
    assert [
        h.article.id for r in store.search(SearchQuery("QwQ-32B", language="de")) for h in r.hits
    ] == [QWQ2.id]
    assert store.search(SearchQuery("QwQ-32B", since=T0 + timedelta(hours=1))) == []
    assert store.search(SearchQuery("QwQ-32B", until=T0)) == []
    assert len(store.search(SearchQuery("QwQ-32B", until=T0 + timedelta(seconds=1)))) == 1


@pytest.mark.parametrize("query", ['"', "AND OR NOT", "(", "*", "qwq NEAR("])
def test_any_user_input_is_a_safe_query(store: SqliteStore, query: str) -> None:
    store.upsert_articles([QWQ])
    store.search(SearchQuery(query))  # no FTS5 syntax error escapes


def test_to_fts_query_quotes_every_word() -> None:
    assert to_fts_query('QwQ-32B "x') == '"QwQ-32B" """x"'
    assert to_fts_query("   ") == ""


def test_stories_latest_and_biggest(store: SqliteStore) -> None:
    store.upsert_stories(
        [
            story("aaaa1111", 5, last_seen=T0),
            story("bbbb2222", 2, last_seen=T0 + timedelta(hours=2)),
        ]
    )
    assert [s.id for s in store.stories(order="latest")] == ["bbbb2222", "aaaa1111"]
    assert [s.id for s in store.stories(order="biggest")] == ["aaaa1111", "bbbb2222"]
    assert [s.id for s in store.stories(since=T0 + timedelta(hours=1))] == ["bbbb2222"]
    with pytest.raises(ValueError):
        store.stories(order="random")


def test_stories_page_and_filter_by_outlet_and_language(store: SqliteStore) -> None:
    store.upsert_stories(
        [
            story("aaaa1111", 5, last_seen=T0, sources=["Example Daily", "Example Wire"]),
            story("bbbb2222", 2, last_seen=T0 + timedelta(hours=2), languages=["de", "en"]),
            story("cccc3333", 1, last_seen=T0 + timedelta(hours=3)),
        ]
    )
    assert [s.id for s in store.stories(limit=2)] == ["cccc3333", "bbbb2222"]
    assert [s.id for s in store.stories(limit=2, offset=2)] == ["aaaa1111"]
    assert [s.id for s in store.stories(source="Example Daily")] == ["aaaa1111"]
    assert [s.id for s in store.stories(language="de")] == ["bbbb2222"]
    assert store.stories(source="Example") == []  # whole outlet names only


def test_get_story_includes_merged_away_stories(store: SqliteStore) -> None:
    merged = story("bbbb2222", 1, merged_into="aaaa1111")
    store.upsert_stories([merged, story("aaaa1111", 2, merged_from=["bbbb2222"])])
    assert store.get_story("bbbb2222") == merged
    found = store.get_story("aaaa1111")
    assert found is not None and found.merged_from == ["bbbb2222"]
    assert store.get_story("cccc3333") is None


def test_search_facets_count_matching_articles(store: SqliteStore) -> None:
    late = article(
        "qwq-3",
        "QwQ-32B benchmarks",
        "QwQ-32B scores well.",
        story="aaaa1111",
        published_at=T0 + timedelta(days=1),
        fetched_at=T0 + timedelta(days=1),
    )
    store.upsert_articles([QWQ, QWQ2, RAIL, late])
    facets = store.search_facets(SearchQuery("QwQ-32B"))
    assert facets == SearchFacets(
        sources=[FacetCount("Example Wire", 2), FacetCount("Example Daily", 1)],
        languages=[FacetCount("en", 2), FacetCount("de", 1)],
        days=[FacetCount("2025-03-06", 2), FacetCount("2025-03-07", 1)],
    )
    german = store.search_facets(SearchQuery("QwQ-32B", language="de"))
    assert german.sources == [FacetCount("Example Daily", 1)]
    assert store.search_facets(SearchQuery("  ")) == SearchFacets([], [], [])


def test_merged_story_hands_its_articles_over(store: SqliteStore) -> None:
    store.upsert_articles([QWQ, RAIL])
    store.upsert_stories([story("bbbb2222", 1, merged_into="aaaa1111"), story("aaaa1111", 2)])
    assert [s.id for s in store.stories()] == ["aaaa1111"]
    assert {a.id for a in store.story_articles("aaaa1111")} == {QWQ.id, RAIL.id}
    assert store.get_articles([RAIL.id])[0].story_id == "aaaa1111"


def test_get_articles_keeps_order_and_skips_unknown(store: SqliteStore) -> None:
    store.upsert_articles([QWQ, RAIL])
    assert [a.id for a in store.get_articles([RAIL.id, "ffffffff", QWQ.id])] == [RAIL.id, QWQ.id]


def test_failed_batch_leaves_nothing_half_written(store: SqliteStore, tmp_path: Path) -> None:
    store.upsert_articles([QWQ])
    with sqlite3.connect(tmp_path / "newsflow.db") as db:  # make the FTS insert of RAIL fail
        db.execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON articles WHEN NEW.id = '{RAIL.id}' "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    with pytest.raises(sqlite3.DatabaseError):
        store.upsert_articles([QWQ2, RAIL])
    assert store.get_articles([QWQ2.id]) == [], "the batch is all or nothing"
    assert store.count_articles() == 1


def test_store_persists_across_reopen(tmp_path: Path) -> None:
    first = SqliteStore.in_data_dir(tmp_path)
    first.upsert_articles([QWQ])
    first.close()
    second = SqliteStore.in_data_dir(tmp_path)
    assert second.count_articles() == 1
    assert second.search(SearchQuery("alibaba"))[0].hits[0].article == QWQ

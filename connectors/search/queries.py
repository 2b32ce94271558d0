"""Request bodies for the search store and the parsing of their responses (pure functions).

One builder serves Elasticsearch and OpenSearch alike: both accept these bodies unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.search.documents import article_from_document, story_from_document
from newsflow.store import ArticleHit, FacetCount, SearchFacets, SearchQuery
from schemas import Article, Story

STORY_ORDERS = {
    "latest": [{"last_seen": "desc"}, {"article_count": "desc"}, {"id": "asc"}],
    "biggest": [{"article_count": "desc"}, {"last_seen": "desc"}, {"id": "asc"}],
}
SEARCH_FIELDS = ["title^5", "lead^2", "text"]
HITS_PER_STORY = 5
HIGHLIGHT = {
    "pre_tags": ["<em>"],
    "post_tags": ["</em>"],
    "fields": {
        "title": {"number_of_fragments": 0},
        "text": {"fragment_size": 160, "number_of_fragments": 2},
    },
}
PAGE_SIZE = 500


def _time_range(field: str, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    bounds: dict[str, str] = {}
    if since is not None:
        bounds["gte"] = since.isoformat()
    if until is not None:
        bounds["lt"] = until.isoformat()
    return [{"range": {field: bounds}}] if bounds else []


def _matching(query: SearchQuery) -> dict[str, Any]:
    """Every word of the query must match (title, lead or text), within the filters."""
    filters: list[dict[str, Any]] = _time_range("event_time", query.since, query.until)
    if query.source:
        filters.append({"term": {"source": query.source}})
    if query.language:
        filters.append({"term": {"language": query.language}})
    match = {
        "multi_match": {
            "query": query.text,
            "fields": SEARCH_FIELDS,
            "type": "cross_fields",
            "operator": "and",
        }
    }
    return {"bool": {"must": [match], "filter": filters}}


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The articles `query` matches, one group per story.

    Groups are collapsed on `group_id`, best-scoring story first; each group carries up to
    `HITS_PER_STORY` matching articles with highlighted fragments.
    """
    return {
        "size": query.limit,
        "query": _matching(query),
        "sort": ["_score", {"event_time": "desc"}, {"id": "asc"}],
        "collapse": {
            "field": "group_id",
            "inner_hits": {
                "name": "members",
                "size": HITS_PER_STORY,
                "sort": ["_score", {"event_time": "desc"}, {"id": "asc"}],
                "highlight": HIGHLIGHT,
            },
        },
        "track_scores": True,
    }


@dataclass(frozen=True)
class HitGroup:
    """One collapsed group of a search response: a story's matching articles, best first."""

    story_id: str | None
    hits: list[ArticleHit]


def _article_hit(hit: Mapping[str, Any]) -> ArticleHit:
    highlight = hit.get("highlight", {})
    fragments = [*highlight.get("title", []), *highlight.get("text", [])]
    return ArticleHit(
        article=article_from_document(hit["_source"]),
        score=float(hit.get("_score") or 0.0),
        highlights=fragments,
    )


def parse_search(response: Mapping[str, Any]) -> list[HitGroup]:
    """The groups of a collapsed search response, in response order."""
    groups = []
    for top in response["hits"]["hits"]:
        members = top.get("inner_hits", {}).get("members", {}).get("hits", {}).get("hits")
        hits = [_article_hit(member) for member in members or [top]]
        groups.append(HitGroup(story_id=hits[0].article.story_id, hits=hits))
    return groups


FACET_SIZE = 50


def facets_body(query: SearchQuery) -> dict[str, Any]:
    """Counts of the articles `query` matches by outlet, language and UTC day."""
    return {
        "size": 0,
        "query": _matching(query),
        "aggs": {
            "sources": {"terms": {"field": "source", "size": FACET_SIZE}},
            "languages": {"terms": {"field": "language", "size": FACET_SIZE}},
            "days": {
                "date_histogram": {
                    "field": "event_time",
                    "calendar_interval": "day",
                    "min_doc_count": 1,
                }
            },
        },
    }


def parse_facets(response: Mapping[str, Any]) -> SearchFacets:
    """The facet counts of a `facets_body` response: outlets and languages most first, then
    by name; days oldest first."""
    aggs = response["aggregations"]

    def terms(name: str) -> list[FacetCount]:
        counts = [FacetCount(str(b["key"]), int(b["doc_count"])) for b in aggs[name]["buckets"]]
        return sorted(counts, key=lambda c: (-c.count, c.value))

    days = [
        FacetCount(datetime.fromtimestamp(b["key"] / 1000, UTC).date().isoformat(), b["doc_count"])
        for b in aggs["days"]["buckets"]
        if b["doc_count"]
    ]
    return SearchFacets(sources=terms("sources"), languages=terms("languages"), days=days)


def stories_body(
    since: datetime | None,
    until: datetime | None,
    order: str,
    limit: int,
    *,
    offset: int = 0,
    source: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """Stories last seen in the range (merged-away stories left out), in `order`, from the
    `offset`-th on; with `source`/`language`, only the stories that have it."""
    if order not in STORY_ORDERS:
        raise ValueError(f"unknown story order {order!r}; expected one of {sorted(STORY_ORDERS)}")
    filters = _time_range("last_seen", since, until)
    for field, value in (("sources", source), ("languages", language)):
        if value is not None:
            filters.append({"term": {field: value}})
    return {
        "size": limit,
        "from": offset,
        "query": {
            "bool": {
                "filter": filters,
                "must_not": [{"exists": {"field": "merged_into"}}],
            }
        },
        "sort": STORY_ORDERS[order],
    }


def story_articles_body(story_id: str, after: Sequence[Any] | None) -> dict[str, Any]:
    """One page of a story's articles, oldest first; `after` is the previous page's last sort."""
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        "query": {"bool": {"filter": [{"term": {"story_id": story_id}}]}},
        "sort": [{"event_time": "asc"}, {"id": "asc"}],
    }
    if after is not None:
        body["search_after"] = list(after)
    return body


def parse_articles(response: Mapping[str, Any]) -> tuple[list[Article], list[Any] | None]:
    """The articles of one page, and the sort values to continue after (None on the last)."""
    hits = response["hits"]["hits"]
    articles = [article_from_document(hit["_source"]) for hit in hits]
    after = hits[-1]["sort"] if len(hits) == PAGE_SIZE else None
    return articles, after


def parse_stories(response: Mapping[str, Any]) -> list[Story]:
    """The stories of a search response, in response order."""
    return [story_from_document(hit["_source"]) for hit in response["hits"]["hits"]]


def parse_mget_stories(response: Mapping[str, Any]) -> dict[str, Story]:
    """Story id -> story for the documents an mget found."""
    return {
        doc["_id"]: story_from_document(doc["_source"])
        for doc in response["docs"]
        if doc.get("found")
    }


def parse_mget_articles(response: Mapping[str, Any]) -> dict[str, Article]:
    """Article id -> article for the documents an mget found."""
    return {
        doc["_id"]: article_from_document(doc["_source"])
        for doc in response["docs"]
        if doc.get("found")
    }

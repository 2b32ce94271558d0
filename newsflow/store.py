"""The search store, as an interface.

Implementations: `connectors.sqlite_store.SqliteStore` (embedded, SQLite FTS5) and the
Elasticsearch/OpenSearch store. Writes are upserts by id, so a redelivered message
overwrites its earlier copy instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from schemas import Article, Story


@dataclass(frozen=True)
class SearchQuery:
    """A full-text query with optional filters."""

    text: str
    source: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 10


@dataclass(frozen=True)
class ArticleHit:
    """One matching article with highlighted fragments (matches wrapped in `<em>`)."""

    article: Article
    score: float
    highlights: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoryResult:
    """Search results collapsed by story: the best hit first, then the other members that hit."""

    story_id: str | None
    story: Story | None
    hits: list[ArticleHit]


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet and how many matching articles have it."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchFacets:
    """How the articles matching a query spread over outlets and languages (most first) and
    days (UTC `YYYY-MM-DD`, oldest first)."""

    sources: list[FacetCount]
    languages: list[FacetCount]
    days: list[FacetCount]


@dataclass(frozen=True)
class IndexFailure:
    """A record the store refused, and why."""

    record_id: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one write call did."""

    written: int
    failures: list[IndexFailure] = field(default_factory=list)


class SearchStore(Protocol):
    """Articles and stories, indexed for full-text search."""

    def upsert_articles(self, articles: Sequence[Article]) -> IndexReport: ...

    def upsert_stories(self, stories: Sequence[Story]) -> IndexReport: ...

    def search(self, query: SearchQuery) -> list[StoryResult]:
        """Matching articles grouped by story, best story first."""
        ...

    def stories(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        order: str = "latest",
        limit: int = 20,
        offset: int = 0,
        source: str | None = None,
        language: str | None = None,
    ) -> list[Story]:
        """Stories last seen in the range, by `latest` last-seen or `biggest` article count,
        skipping the first `offset`; with `source`/`language`, only stories that have it."""
        ...

    def get_story(self, story_id: str) -> Story | None:
        """The stored story with this id (merged-away stories included), or None."""
        ...

    def search_facets(self, query: SearchQuery) -> SearchFacets:
        """Counts of the articles matching `query` (text and filters) by outlet, language, day."""
        ...

    def get_articles(self, ids: Sequence[str]) -> list[Article]:
        """The stored articles with these ids, in the order given; unknown ids left out."""
        ...

    def story_articles(self, story_id: str) -> list[Article]:
        """The articles of one story, oldest first."""
        ...

    def count_articles(self) -> int: ...

    def close(self) -> None: ...

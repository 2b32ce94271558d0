"""Stories and search results as JSON-ready records: the shapes of `newsflow stories --json`,
`newsflow search --json` and the web API (pure functions)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from newsflow.store import SearchFacets, StoryResult
from schemas import Article, Story


def article_summary(article: Article) -> dict[str, Any]:
    """The fields of an article worth listing under its story."""
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "duplicate_of": article.duplicate_of,
    }


def story_record(story: Story, members: Sequence[Article]) -> dict[str, Any]:
    """A story with its member articles (one line of `newsflow stories --json`)."""
    record: dict[str, Any] = json.loads(story.model_dump_json())
    record["articles"] = [article_summary(a) for a in members]
    return record


def result_record(result: StoryResult) -> dict[str, Any]:
    """One story's search hits (one line of `newsflow search --json`)."""
    return {
        "story_id": result.story_id,
        "story": json.loads(result.story.model_dump_json()) if result.story else None,
        "hits": [
            {**article_summary(h.article), "score": h.score, "highlights": h.highlights}
            for h in result.hits
        ],
    }


def facets_record(facets: SearchFacets) -> dict[str, Any]:
    """Facet counts as `{"sources": [{"value": ..., "count": ...}], "languages": ..., "days": ...}`."""
    return asdict(facets)

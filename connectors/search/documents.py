"""Articles and stories as index documents, and back (pure functions).

An article document is the model's JSON plus two derived fields: `group_id` (the story id,
or the article's own id while it has no story, so unclustered articles never collapse
together) and `event_time` (published, else fetched: the time filters and Kibana use).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import Article, Story

DERIVED_ARTICLE_FIELDS = ("group_id", "event_time")


def article_document(article: Article) -> dict[str, Any]:
    """The document indexed for `article`."""
    document = article.model_dump(mode="json")
    document["group_id"] = article.story_id or article.id
    document["event_time"] = article.event_time.isoformat()
    return document


def article_from_document(source: Mapping[str, Any]) -> Article:
    """The article stored in a document's `_source`."""
    return Article.model_validate(
        {k: v for k, v in source.items() if k not in DERIVED_ARTICLE_FIELDS}
    )


def story_document(story: Story) -> dict[str, Any]:
    """The document indexed for `story`."""
    return story.model_dump(mode="json")


def story_from_document(source: Mapping[str, Any]) -> Story:
    """The story stored in a document's `_source`."""
    return Story.model_validate(dict(source))

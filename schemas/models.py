"""Pydantic models of the two records newsflow moves around: articles and stories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1


def _require_timezone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_timezone)]
HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    schema_version: Literal[1] = SCHEMA_VERSION


class Article(_Record):
    """One extracted news article.

    `id` is derived from `canonical_url` (see `newsflow.urls.article_id`), so the same article
    reached through two URLs, or delivered twice, always has the same id.
    `story_id` and `duplicate_of` are empty until the clustering stage fills them.
    """

    id: HexId
    url: str = Field(min_length=1, description="URL the article was fetched from")
    canonical_url: str = Field(min_length=1, description="normalised canonical URL")
    source: str = Field(min_length=1, description="outlet name, or the host when unknown")
    feed_url: str | None = Field(default=None, description="feed the article was listed in")
    title: str = ""
    text: str = Field(min_length=1, description="main text, paragraphs separated by newlines")
    lead: str = Field(default="", description="first paragraph(s) of the text")
    comments: str = Field(default="", description="reader comments found on the page, if any")
    authors: list[str] = Field(default_factory=list)
    published_at: AwareDatetime | None = None
    fetched_at: AwareDatetime
    language: str | None = Field(default=None, description="ISO 639-1 code")
    image: str | None = None
    content_hash: HexId = Field(description="hash of the normalised text; equal for exact copies")
    story_id: HexId | None = None
    duplicate_of: HexId | None = Field(
        default=None, description="id of the article this one is a near-copy of"
    )

    @property
    def event_time(self) -> datetime:
        """When the article happened for clustering purposes: published, else fetched; never
        after it was fetched (a date in the future is wrong, and would age open stories out)."""
        if self.published_at is None:
            return self.fetched_at
        return min(self.published_at, self.fetched_at)


class Story(_Record):
    """A group of articles about one event, in its latest known state."""

    id: HexId
    headline: str
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    article_count: int = Field(ge=0)
    sources: list[str] = Field(default_factory=list, description="outlets, sorted")
    languages: list[str] = Field(default_factory=list, description="languages, sorted")
    merged_into: HexId | None = Field(
        default=None, description="set when this story turned out to be part of another one"
    )
    merged_from: list[HexId] = Field(
        default_factory=list, description="stories absorbed into this one"
    )

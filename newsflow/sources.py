"""What a source yields: items that point at (or carry) one article each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceItem:
    """One article-to-be, as a feed, a URL list or a replay fixture announces it.

    `text` is set only when the source already carries the article body (direct replay);
    otherwise the article is fetched from `url` and extracted.
    """

    url: str
    source: str | None = None
    feed_url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    guid: str | None = None
    text: str | None = None

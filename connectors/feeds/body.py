"""A fetched feed body into source items, or a `Skip` saying why not: never an exception.

RSS/Atom/JSON Feed go to `connectors.feeds.parse.parse_feed`; a news sitemap (a `<urlset>` with the
news namespace) to `parse_news_sitemap`. Both only ever see bytes the fetcher already capped.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from connectors.feeds.discovery import SitemapError, looks_like_news_sitemap, parse_news_sitemap
from connectors.feeds.parse import FeedError, parse_feed
from connectors.http.page import Page
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem

log = logging.getLogger("newsflow.fetch")


def read_feed(
    content: bytes, feed_url: str, media_type: str | None = None, source: str | None = None
) -> list[SourceItem] | Skip:
    """The entries of a feed or news sitemap document, or `Skip(feed-parse-error)`.

    `source` names the outlet when the feed list does (see `connectors.feeds.parse.parse_feed`).
    """
    try:
        if looks_like_news_sitemap(content):
            items = parse_news_sitemap(content, feed_url)
            return [replace(item, source=source or item.source) for item in items]
        return parse_feed(content, feed_url, content_type=media_type, source=source)
    except (FeedError, SitemapError) as exc:
        return Skip(feed_url, SkipReason.FEED_PARSE_ERROR, str(exc))


def read_feed_page(page: Page, source: str | None = None) -> list[SourceItem] | Skip:
    """`read_feed` on a fetched page, entries resolved against the final URL."""
    return read_feed(page.content, page.final_url, page.media_type, source)

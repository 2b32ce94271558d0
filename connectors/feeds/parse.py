"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom (feedparser) and JSON Feed bytes into source items.

feedparser 6 does not read JSON Feed, so `parse_json_feed` does, after the JSON Feed 1.1 spec.

feedparser only ever sees bytes the fetcher already downloaded and capped; it never fetches
a URL itself, and it does not expand external entities.
"""

from __future__ import annotations

import calendar
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from newsflow.sources import SourceItem

log = logging.getLogger(__name__)


class FeedError(ValueError):
    """Bytes that are not a feed we can read."""


def parse_feed(
    content: bytes,
    feed_url: str,
    *,
    content_type: str | None = None,
    source: str | None = None,
) -> list[SourceItem]:
    """The entries of a feed document, newest information first as the feed orders them.

    The outlet is the entry's own `<source>` (aggregator feeds), else `source`, else the
    feed's title. Entries without a
    link are left out (they point at nothing to fetch). Raises `FeedError` when the bytes
    are not a feed at all.
    """
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return parse_json_feed(content, feed_url, source=source)
    headers = {"content-location": feed_url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False)
    problem = parsed.get("bozo_exception")
    if not parsed.entries and (problem or not parsed.get("version")):
        raise FeedError(f"not a feed: {problem}" if problem else "not a feed")
    if problem:
        log.warning("feed %s is malformed, kept what could be read: %s", feed_url, problem)
    feed_outlet = source or parsed.feed.get("title") or None
    items = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        items.append(
            SourceItem(
                url=link.strip(),
                source=entry.get("source", {}).get("title") or feed_outlet,
                feed_url=feed_url,
                title=entry.get("title") or None,
                published_at=_entry_time(entry),
                guid=entry.get("id") or None,
            )
        )
    return items


def _entry_time(entry: feedparser.FeedParserDict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def parse_json_feed(
    content: bytes, feed_url: str, *, source: str | None = None
) -> list[SourceItem]:
    """The items of a JSON Feed (version 1 or 1.1) document; `FeedError` if it is not one."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"not a JSON Feed: {exc}") from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError("not a JSON Feed: no jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not a JSON Feed: 'items' is not a list")
    outlet = source or _text(doc.get("title"))
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _text(item.get("url")) or _text(item.get("external_url"))
        if not link:
            continue
        found.append(
            SourceItem(
                url=urljoin(feed_url, link),
                source=outlet,
                feed_url=feed_url,
                title=_text(item.get("title")),
                published_at=_iso_time(item.get("date_published") or item.get("date_modified")),
                guid=_text(item.get("id")),
            )
        )
    return found


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

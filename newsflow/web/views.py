"""What the web pages show, computed from the store's records (pure functions, no I/O).

Everything here returns plain data or `Markup` built from escaped text: the templates escape
every other string they print.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup, escape

from newsflow.store import SearchQuery
from schemas import Article

STORY_ORDERS = ("latest", "biggest")
_MARK = re.compile(r"(</?em>)")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 date or time from a query string (UTC when it has no zone); None if blank.

    Raises ValueError on anything else.
    """
    if not text.strip():
        return None
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """The filters a page was asked for; blank values mean no filter."""

    source: str = ""
    language: str = ""
    since: str = ""
    until: str = ""

    @property
    def since_time(self) -> datetime | None:
        return parse_time(self.since)

    @property
    def until_time(self) -> datetime | None:
        return parse_time(self.until)

    def search_query(self, text: str, limit: int) -> SearchQuery:
        """The store query for `text` with these filters."""
        return SearchQuery(
            text,
            self.source or None,
            self.language or None,
            self.since_time,
            self.until_time,
            limit,
        )

    def with_(self, **changes: str) -> Filters:
        return replace(self, **changes)

    def params(self) -> dict[str, str]:
        """The non-blank filters, as query-string parameters."""
        return {k: v for k, v in vars(self).items() if v}


def query_string(**params: str | int) -> str:
    """`?a=1&b=2` from the non-blank parameters (empty string when there are none)."""
    kept = {k: v for k, v in params.items() if v not in ("", None)}
    return "?" + urlencode(kept) if kept else ""


def day_range(day: str) -> tuple[str, str]:
    """`since`/`until` values covering the UTC day `YYYY-MM-DD` (a day facet's link)."""
    start = datetime.fromisoformat(day)
    return start.date().isoformat(), (start + timedelta(days=1)).date().isoformat()


def highlight(fragment: str) -> Markup:
    """A store highlight fragment as HTML: the text escaped, only the store's `<em>` marks
    turned into `<mark>` elements (balanced, never nested)."""
    parts: list[str] = []
    open_mark = False
    for piece in _MARK.split(fragment):
        if piece == "<em>" and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif piece == "</em>" and open_mark:
            parts.append("</mark>")
            open_mark = False
        elif piece not in ("<em>", "</em>"):
            parts.append(str(escape(piece)))
    if open_mark:
        parts.append("</mark>")
    return Markup("".join(parts))


def link_target(url: str) -> str | None:
    """`url` when it is safe to link to (http or https), else None: a stranger's
    `javascript:` URL must never become a link."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


@dataclass(frozen=True)
class TimelineEntry:
    """One article of a story page, and the article it copies when it is a duplicate."""

    article: Article
    original: Article | None


def timeline(members: Sequence[Article], originals: Sequence[Article]) -> list[TimelineEntry]:
    """The story's articles in time order, each duplicate paired with its original (looked up
    among the members and `originals`; None when the original is not stored)."""
    known = {a.id: a for a in [*originals, *members]}
    ordered = sorted(members, key=lambda a: (a.event_time, a.id))
    return [
        TimelineEntry(a, known.get(a.duplicate_of) if a.duplicate_of else None) for a in ordered
    ]


def missing_originals(members: Sequence[Article]) -> list[str]:
    """Ids of the originals that duplicates in `members` copy but that are not members."""
    ids = {a.id for a in members}
    return sorted({a.duplicate_of for a in members if a.duplicate_of} - ids)


def article_lead(article: Article) -> str:
    """The article's lead (else its text) on one line, without a leading copy of its title
    (extractors often start the lead with the headline)."""
    lead = " ".join((article.lead or article.text).split())
    title = " ".join(article.title.split())
    if title and lead.startswith(title) and len(lead) > len(title):
        return lead[len(title) :].lstrip(" .:—-")
    return lead


def lead_of(members: Sequence[Article], limit: int = 320) -> str:
    """The lead of the story's first original article, cut at a word near `limit` chars."""
    originals = [a for a in members if not a.duplicate_of] or list(members)
    if not originals:
        return ""
    text = article_lead(min(originals, key=lambda a: (a.event_time, a.id)))
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def when(value: datetime | None) -> str:
    """A time for people: `6 Mar 2025, 09:00 UTC`."""
    if value is None:
        return ""
    utc = value.astimezone(UTC)
    return f"{utc.day} {utc:%b %Y, %H:%M} UTC"

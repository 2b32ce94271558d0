"""Reading the response headers the fetcher acts on (pure functions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from newsflow.outcomes import SkipReason

Accept = Literal["html", "feed", "any"]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
    }
)
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type lower-cased without parameters, declared charset) of a Content-Type."""
    if not value:
        return None, None
    media, *params = value.split(";")
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset" and raw.strip().strip("\"'"):
            charset = raw.strip().strip("\"'").lower()
    return (media.strip().lower() or None), charset


def content_type_refusal(accept: Accept, media_type: str | None) -> SkipReason | None:
    """Why a response of `media_type` is not what was asked for, or None if it is.

    A missing Content-Type is accepted: the parser or extractor decides.
    """
    if accept == "any" or media_type is None:
        return None
    if accept == "html":
        return None if media_type in HTML_TYPES else SkipReason.NOT_HTML
    suffixed = media_type.endswith(("+xml", "+json")) and media_type not in HTML_TYPES
    is_feed = media_type in FEED_TYPES or suffixed
    return None if is_feed else SkipReason.NOT_A_FEED


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), if any."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds; 0 for no-store/no-cache."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    if match:
        return float(match.group(1))
    return None

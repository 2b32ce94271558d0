"""Why an item did not become an article: reason codes and per-run tallies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from newsflow.redact import redact


class SkipReason(StrEnum):
    """Every way an item can leave the pipeline before indexing, as a stable code."""

    NOT_DUE = "not-due"
    NOT_MODIFIED = "not-modified"
    UNCHANGED = "unchanged"
    SEEN_BEFORE = "seen-before"
    ROBOTS_DISALLOWED = "robots-disallowed"
    BLOCKED_ADDRESS = "blocked-address"
    INVALID_URL = "invalid-url"
    TOO_LARGE = "too-large"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect-error"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    HTTP_STATUS = "http-status"
    RATE_LIMITED = "rate-limited"
    BAD_RESPONSE = "bad-response"
    NOT_HTML = "not-html"
    NOT_A_FEED = "not-a-feed"
    FEED_PARSE_ERROR = "feed-parse-error"
    NO_CONTENT = "no-content"
    EXTRACT_ERROR = "extract-error"
    OVER_FEED_CAP = "over-feed-cap"


# Skips that mean "nothing new here", not that something went wrong.
NOT_FAILURES = frozenset(
    {
        SkipReason.NOT_DUE,
        SkipReason.NOT_MODIFIED,
        SkipReason.UNCHANGED,
        SkipReason.SEEN_BEFORE,
        SkipReason.OVER_FEED_CAP,
    }
)


@dataclass(frozen=True)
class Skip:
    """An item that was dropped on purpose, with the reason code and a human detail."""

    url: str
    reason: SkipReason
    detail: str = ""

    def __str__(self) -> str:
        # Printed and logged: never with credentials, in the URL or in a server's words.
        return redact(f"{self.reason}: {self.url}" + (f" ({self.detail})" if self.detail else ""))


@dataclass
class RunReport:
    """What one ingestion run did: counts per outcome and the skips themselves."""

    articles: int = 0
    skips: list[Skip] = field(default_factory=list)

    def skipped(self, skip: Skip) -> None:
        self.skips.append(skip)

    def reasons(self) -> Counter[str]:
        """How many items were skipped for each reason."""
        return Counter(str(skip.reason) for skip in self.skips)

    def merge(self, other: RunReport) -> None:
        self.articles += other.articles
        self.skips.extend(other.skips)

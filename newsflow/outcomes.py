"""What a poll produced: per-item skips with reason codes, per-feed outcomes, the run's result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from newsflow.redact import redact
from schemas import Article, Story


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
    """An item that was dropped on purpose, with the reason code and a human detail.

    `transient` marks a failure that may heal by itself (a timeout, a refused connection,
    HTTP 429 or 5xx): worth retrying, and its feed entry stays unseen for the next poll.
    """

    url: str
    reason: SkipReason
    detail: str = ""
    transient: bool = False

    def __str__(self) -> str:
        # Printed and logged: never with credentials, in the URL or in a server's words.
        return redact(f"{self.reason}: {self.url}" + (f" ({self.detail})" if self.detail else ""))


@dataclass
class RunReport:
    """A run flattened: how many articles it published, and every skip with its reason."""

    articles: int = 0
    skips: list[Skip] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        """How many items were skipped for each reason."""
        return Counter(str(skip.reason) for skip in self.skips)


class FeedStatus(StrEnum):
    """How a feed fared in one poll."""

    NEW = "new"  # at least one new article came out of it
    UNCHANGED = "unchanged"  # no new article came out of it (or 304, or the same body)
    NOT_DUE = "not-due"  # polled recently: not fetched this time (adaptive schedule)
    FAILED = "failed"  # could not be read or parsed, retries included


@dataclass
class FeedOutcome:
    """One feed's line in a poll: what it listed, what became articles, what was skipped."""

    url: str
    name: str | None = None
    listed: int = 0
    articles: int = 0
    seen_before: int = 0
    error: Skip | None = None
    # Why the feed was not read though nothing failed: not due, not modified, same body.
    not_read: Skip | None = None
    item_skips: list[Skip] = field(default_factory=list)

    @property
    def status(self) -> FeedStatus:
        if self.error is not None:
            return FeedStatus.FAILED
        if self.not_read is not None and self.not_read.reason is SkipReason.NOT_DUE:
            return FeedStatus.NOT_DUE
        return FeedStatus.NEW if self.articles else FeedStatus.UNCHANGED

    @property
    def reason(self) -> str:
        """Why the feed failed or was not read, or what its items were skipped for."""
        whole = self.error or self.not_read
        if whole is not None:
            return f"{whole.reason}" + (f": {whole.detail}" if whole.detail else "")
        counts = Counter(str(skip.reason) for skip in self.item_skips)
        return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


@dataclass
class PollResult:
    """Everything a poll produced: per-feed outcomes, the stored articles, their stories."""

    feeds: list[FeedOutcome]
    published: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    handled: dict[str, int] = field(default_factory=dict)  # by in-process stage

    def run_report(self) -> RunReport:
        """The poll flattened: articles published, every skip with its reason."""
        report = RunReport(articles=len(self.published))
        for feed in self.feeds:
            for skip in [feed.error, feed.not_read, *feed.item_skips]:
                if skip is not None:
                    report.skips.append(skip)
        return report

    def failed_feeds(self) -> list[FeedOutcome]:
        """The feeds that could not be read or parsed."""
        return [feed for feed in self.feeds if feed.status is FeedStatus.FAILED]

"""Polling one feed: conditional GET, body-hash fallback, adaptive schedule and health.

`FeedPoller.fetch` returns the page only when the feed really changed; a 304 or a body whose
hash matches the last one costs no parsing. The new validators and hash are stored by
`finish`, after the caller has handled the entries, so a crash in between re-reads the feed
rather than losing its entries (at-least-once). Validators are not sent when the last full
body is older than the ceiling interval, so a server's wrong 304s cannot hide new entries
for longer than that.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace

from connectors.feeds.body import read_feed_page
from connectors.feeds.lists import FeedSpec
from connectors.feeds.schedule import PollPolicy, combine_hints, feed_hint_s
from connectors.feeds.seen import item_keys, new_items
from connectors.feeds.state import FeedRecord, FeedState
from connectors.http.errors import FetchError
from connectors.http.fetcher import Fetcher
from connectors.http.headers import parse_max_age
from connectors.http.page import Page
from newsflow.config import FetchSettings
from newsflow.outcomes import Skip, SkipReason
from newsflow.redact import redact
from newsflow.sources import SourceItem

log = logging.getLogger("newsflow.fetch")
EARLY_SHARE = 0.1  # a feed is polled up to this share of its interval early (see `due`)


def poll_policy(settings: FetchSettings) -> PollPolicy:
    """The polling bounds configured in `[fetch]`."""
    return PollPolicy(
        floor_s=settings.poll_floor_minutes * 60,
        ceiling_s=settings.poll_ceiling_minutes * 60,
        dead_after=settings.dead_after_failures,
    )


def body_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class FeedPoll:
    """One feed fetched: `page` when it changed and must be parsed, else `skip` says why not."""

    url: str
    page: Page | None = None
    skip: Skip | None = None


@dataclass(frozen=True)
class FeedEntries:
    """A polled feed's entries: `new` ones to handle, or `skip` when there are none to read.

    `deferred`: new entries past the per-poll cap (`max_items_per_feed`), left unseen for
    the next poll; `deferred_skips` reports them.
    """

    poll: FeedPoll
    entries: list[SourceItem] = field(default_factory=list)
    new: list[SourceItem] = field(default_factory=list)
    skip: Skip | None = None
    deferred: list[SourceItem] = field(default_factory=list)

    def deferred_skips(self) -> list[Skip]:
        """One `over-feed-cap` skip per entry left for the next poll."""
        detail = f"over the cap of {len(self.new)} new entries per poll; read next poll"
        return [Skip(item.url, SkipReason.OVER_FEED_CAP, detail) for item in self.deferred]


class FeedPoller:
    """Fetches feeds with their stored validators and keeps their schedule and health."""

    def __init__(
        self,
        fetcher: Fetcher,
        state: FeedState,
        policy: PollPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self.state = state
        self.policy = policy
        self.clock = clock
        self.round_at: float | None = None  # when `due` last picked the feeds to poll

    def due(self, urls: Iterable[str], interval_s: float | None = None) -> list[str]:
        """Which of `urls` are due now; unknown feeds are registered and due at once.

        A feed counts as due up to `EARLY_SHARE` of its interval early: rounds come on their
        group's schedule, give or take the time a round takes to begin, and a feed missed by
        a second would wait a whole round. The feeds polled after this call have their next
        poll counted from now, the start of the round (see `_schedule_base`).
        """
        urls = list(dict.fromkeys(urls))
        interval = self.policy.clamp(interval_s or self.policy.floor_s)
        self.state.add((FeedSpec(url) for url in urls), interval)
        now = self.clock()
        self.round_at = now
        return [
            url
            for url in urls
            if (record := self.state.get(url))
            and record.next_poll_at <= now + EARLY_SHARE * record.interval_s
        ]

    def _record(self, url: str) -> FeedRecord:
        return self.state.get(url) or FeedRecord(url=url, interval_s=self.policy.floor_s)

    def _schedule_base(self, now: float) -> float:
        """Where a feed's next interval starts: the start of the round that chose to poll it.

        Counting from the end of the round (when the state is committed) would make a feed
        whose interval equals its group's schedule miss every other round by the time the
        round took, doubling its effective interval.
        """
        return now if self.round_at is None else min(now, self.round_at)

    def conditional_headers(self, record: FeedRecord, now: float) -> dict[str, str]:
        """If-None-Match / If-Modified-Since, unless the last full body is too old."""
        fresh = (
            record.last_full_at is not None and now - record.last_full_at < self.policy.ceiling_s
        )
        headers: dict[str, str] = {}
        if fresh and record.etag:
            headers["If-None-Match"] = record.etag
        if fresh and record.last_modified:
            headers["If-Modified-Since"] = record.last_modified
        return headers

    async def fetch(self, url: str) -> FeedPoll:
        """Fetch a feed; returns its page only if its body changed since the last poll."""
        record = self._record(url)
        now = self.clock()
        try:
            page = await self.fetcher.fetch(
                url, accept="feed", headers=self.conditional_headers(record, now)
            )
        except FetchError as exc:
            self._failed(record, now, exc.as_skip(), exc.retry_after_s)
            return FeedPoll(url, skip=exc.as_skip())
        if page.not_modified:
            self._quiet(record, page, now, full=False)
            return FeedPoll(url, skip=Skip(url, SkipReason.NOT_MODIFIED))
        if record.body_hash == body_hash(page.content):
            self._quiet(record, page, now, full=True)
            return FeedPoll(url, skip=Skip(url, SkipReason.UNCHANGED, "same body as last time"))
        self.state.save(
            replace(record, failures=0, dead=False, last_error=None, last_success_at=now)
        )
        return FeedPoll(url, page=page)

    async def new_entries(self, url: str, source: str | None = None) -> FeedEntries:
        """Fetch and read a feed; its entries whose GUID, URL and title hash are all unseen.

        Nothing is marked seen here: call `commit` once the new entries are handled.
        """
        poll = await self.fetch(url)
        if poll.page is None:
            return FeedEntries(poll, skip=poll.skip)
        entries = read_feed_page(poll.page, source)
        if isinstance(entries, Skip):
            self.fail(poll, entries)
            return FeedEntries(poll, skip=entries)
        keys = [key for entry in entries for key in item_keys(entry)]
        fresh = new_items(entries, self.state.seen_keys(url, keys))
        cap = self.fetcher.settings.max_items_per_feed
        return FeedEntries(poll, entries=entries, new=fresh[:cap], deferred=fresh[cap:])

    def commit(self, read: FeedEntries, retry: Collection[SourceItem] = ()) -> None:
        """Mark a feed's entries seen, except `retry` (failed for now) and the deferred ones
        (over the cap), and store its state.

        With entries to retry or deferred, the validators and body hash are not stored, so
        the next poll reads the feed in full and offers those entries again.
        """
        if read.poll.page is None:
            return
        keep = {id(item) for item in (*retry, *read.deferred)}
        handled = [key for item in read.entries if id(item) not in keep for key in item_keys(item)]
        self.state.mark_seen(read.poll.url, handled, self.clock())
        self.finish(read.poll, len(read.new), store_validators=not keep)

    def finish(self, poll: FeedPoll, new_items: int, *, store_validators: bool = True) -> None:
        """Store a changed feed's validators, hash and next poll once its entries are handled."""
        assert poll.page is not None
        page = poll.page
        record = self._record(poll.url)
        now = self.clock()
        hint = combine_hints(
            feed_hint_s(page.content), parse_max_age(page.headers.get("cache-control"))
        )
        interval = self.policy.after_success(record.interval_s, new_items, hint)
        updated = replace(
            _succeeded(record, page, now, interval, self._schedule_base(now)),
            last_new_at=now if new_items else record.last_new_at,
        )
        if store_validators:
            updated = replace(updated, body_hash=body_hash(page.content), last_full_at=now)
        else:
            updated = replace(updated, etag=record.etag, last_modified=record.last_modified)
        self.state.save(updated)

    def fail(self, poll: FeedPoll, skip: Skip) -> None:
        """Record that a changed feed could not be used (e.g. it did not parse)."""
        self._failed(self._record(poll.url), self.clock(), skip, None)

    def _quiet(self, record: FeedRecord, page: Page, now: float, *, full: bool) -> None:
        hint = parse_max_age(page.headers.get("cache-control"))
        interval = self.policy.after_success(record.interval_s, 0, hint)
        updated = _succeeded(record, page, now, interval, self._schedule_base(now))
        self.state.save(replace(updated, last_full_at=now) if full else updated)

    def _failed(
        self, record: FeedRecord, now: float, skip: Skip, retry_after: float | None
    ) -> None:
        failures = record.failures + 1
        dead = self.policy.is_dead(failures)
        if dead and not record.dead:
            log.warning("feed %s marked dead after %d failures", redact(record.url), failures)
        self.state.save(
            replace(
                record,
                failures=failures,
                dead=dead,
                last_error=f"{skip.reason}: {skip.detail}" if skip.detail else str(skip.reason),
                last_polled_at=now,
                next_poll_at=now + self.policy.after_failure(failures, retry_after),
            )
        )


def _succeeded(
    record: FeedRecord, page: Page, now: float, interval: float, base: float
) -> FeedRecord:
    """The record after any successful answer: healthy again, validators refreshed, next
    poll `interval` after `base`."""
    return replace(
        record,
        etag=page.headers.get("etag") or record.etag,
        last_modified=page.headers.get("last-modified") or record.last_modified,
        interval_s=interval,
        next_poll_at=base + interval,
        last_polled_at=now,
        last_success_at=now,
        failures=0,
        dead=False,
        last_error=None,
    )

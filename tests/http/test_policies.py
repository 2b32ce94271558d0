"""Pure policies: headers, polling intervals, entry identity, per-host limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from connectors.feeds.schedule import PollPolicy, feed_hint_s
from connectors.feeds.seen import item_keys, new_items
from connectors.http.charset import effective_charset
from connectors.http.headers import (
    content_type_refusal,
    parse_content_type,
    parse_max_age,
    parse_retry_after,
)
from connectors.http.page import Page
from connectors.http.politeness import MAX_CRAWL_DELAY_S, HostBackingOff, HostLimits
from connectors.http.robots import RobotsAnswer, RobotsCache
from newsflow.config import FetchSettings
from newsflow.outcomes import SkipReason
from newsflow.redact import redact
from newsflow.sources import SourceItem
from newsflow.urls import canonicalize

POLICY = PollPolicy(floor_s=300, ceiling_s=6 * 3600, dead_after=5)


def test_content_type_parsing() -> None:
    assert parse_content_type('Text/HTML; Charset="ISO-8859-1"') == ("text/html", "iso-8859-1")
    assert parse_content_type("application/rss+xml") == ("application/rss+xml", None)
    assert parse_content_type(None) == (None, None)


@pytest.mark.parametrize(
    ("accept", "media", "refusal"),
    [
        ("html", "text/html", None),
        ("html", "application/xhtml+xml", None),
        ("html", "application/pdf", SkipReason.NOT_HTML),
        ("feed", "application/atom+xml", None),
        ("feed", "application/vnd.custom+json", None),
        ("feed", "text/xml", None),
        ("feed", "text/html", SkipReason.NOT_A_FEED),
        ("feed", "application/xhtml+xml", SkipReason.NOT_A_FEED),
        ("feed", "image/png", SkipReason.NOT_A_FEED),
        ("any", "image/png", None),
        ("feed", None, None),
    ],
)
def test_content_type_refusal(accept: str, media: str | None, refusal: SkipReason | None) -> None:
    assert content_type_refusal(accept, media) is refusal  # type: ignore[arg-type]


def test_retry_after_and_max_age() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 23 Nov 2026 10:05:00 GMT", now) == 300.0
    assert parse_retry_after("soon") is None
    assert parse_max_age("public, max-age=600") == 600.0
    assert parse_max_age("no-cache") is None


def test_interval_shrinks_with_news_and_grows_when_quiet() -> None:
    assert POLICY.after_success(1200, new_items=3, hint_s=None) == 600
    assert POLICY.after_success(1200, new_items=0, hint_s=None) == 1800
    assert POLICY.after_success(300, new_items=9, hint_s=None) == 300  # floor
    assert POLICY.after_success(6 * 3600, new_items=0, hint_s=None) == 6 * 3600  # ceiling
    assert POLICY.after_success(300, new_items=1, hint_s=3600) == 3600  # the feed's own hint
    assert POLICY.after_success(300, new_items=1, hint_s=10 * 86400) == 6 * 3600  # capped


def test_failures_back_off_exponentially_then_die() -> None:
    assert [POLICY.after_failure(n, None) for n in (1, 2, 3)] == [300, 600, 1200]
    assert POLICY.after_failure(30, None) == 6 * 3600
    assert POLICY.after_failure(1, 7200) == 7200
    assert not POLICY.is_dead(4) and POLICY.is_dead(5)


def test_feed_hints() -> None:
    assert feed_hint_s(b"<rss><channel><ttl>45</ttl></channel></rss>") == 2700
    body = b"<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
    assert feed_hint_s(body) == 900
    assert feed_hint_s(b"<rss/>") is None


def test_entry_new_only_if_no_key_seen() -> None:
    old = SourceItem(url="https://ex.com/a?utm_source=x", guid="g1", title="Storm hits coast")
    seen = set(item_keys(old))
    new_guid_same_url = SourceItem(url="https://EX.com/a", guid="g2", title="Other title")
    same_title = SourceItem(url="https://ex.com/b", guid="g3", title="  storm HITS coast ")
    fresh = SourceItem(url="https://ex.com/c", guid="g4", title="Quake inland")
    repeat = SourceItem(url="https://ex.com/c#top", guid="g5", title="Quake inland again")
    assert new_items([new_guid_same_url, same_title, fresh, repeat], seen) == [fresh]


def test_redact_url_masks_credentials() -> None:
    assert redact("https://user:secret@ex.com/feed") == "https://***@ex.com/feed"
    assert redact("https://ex.com/feed") == "https://ex.com/feed"
    # URLs that do not parse are redacted too, never an exception.
    assert redact("http://u:p@[::1") == "http://***@[::1"
    assert redact("http://xn--/") == "http://xn--/"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_host_rate_spaces_request_starts() -> None:
    fake = FakeTime()
    limits = HostLimits(concurrency=2, rate=2.0, clock=fake.clock, sleep=fake.sleep)

    async def three() -> None:
        for _ in range(3):
            async with limits.slot("a.example"):
                pass
        async with limits.slot("b.example"):
            pass

    asyncio.run(three())
    assert fake.slept == [0.5, 0.5]  # b.example has its own budget


def test_retry_after_holds_the_host_and_fails_fast_past_the_limit() -> None:
    fake = FakeTime()
    limits = HostLimits(concurrency=1, rate=0, max_wait_s=30, clock=fake.clock, sleep=fake.sleep)
    limits.back_off("a.example", 10)
    assert limits.reserve("a.example") == 10
    limits.back_off("a.example", 120)
    with pytest.raises(HostBackingOff):
        limits.reserve("a.example")
    assert limits.reserve("b.example") == 0


def test_effective_charset() -> None:
    japanese = '<meta charset="shift_jis"><p>日本語のニュース</p>'.encode("shift_jis")
    assert effective_charset(japanese, "utf-8") == "shift_jis"  # the page's meta wins
    assert effective_charset("naïve".encode(), "ISO-8859-1") == "utf-8"
    assert effective_charset(b"plain", "ISO-8859-1") == "iso8859-1"
    assert effective_charset("naïve".encode(), "no-such-charset") == "utf-8"
    assert effective_charset(b"anything", None) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://Bücher.Example/a", "https://xn--bcher-kva.example/a"),
        ("https://ex.com/%7euser/caf%c3%a9", "https://ex.com/~user/caf%C3%A9"),
        ("https://ex.com/a?id=3&_ga=1.2&smid=tw-share&ref_src=twsrc", "https://ex.com/a?id=3"),
        ("https://user:pw@ex.com/a", "https://ex.com/a"),
    ],
)
def test_canonicalize_extensions(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


def test_fetch_settings_reject_bad_networks_and_bounds() -> None:
    assert FetchSettings(allowed_networks="127.0.0.0/8, ::1").allowed_networks == [
        "127.0.0.0/8",
        "::1",
    ]
    with pytest.raises(ValueError, match="CIDR"):
        FetchSettings(allowed_networks=["localhost"])
    with pytest.raises(ValueError, match="ceiling"):
        FetchSettings(poll_floor_minutes=60, poll_ceiling_minutes=10)


def test_crawl_delay_spaces_the_host_up_to_a_cap() -> None:
    fake = FakeTime()
    limits = HostLimits(concurrency=1, rate=0, clock=fake.clock, sleep=fake.sleep)
    limits.space_at_least("a.example", 2.5)
    assert [limits.reserve("a.example") for _ in range(3)] == [0, 2.5, 5.0]
    limits.space_at_least("b.example", 86400)
    limits.reserve("b.example")
    assert limits.reserve("b.example") == MAX_CRAWL_DELAY_S


def test_robots_cache_answers_and_caches() -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> Page:
        fetched.append(url)
        body = b"User-agent: newsflow\nCrawl-delay: 4\nDisallow: /private\n"
        return Page(url, url, 200, body, "text/plain", None, {}, datetime.now(UTC))

    async def ask_twice() -> tuple[RobotsAnswer, RobotsAnswer]:
        cache = RobotsCache(fetch, "newsflow", ttl_s=60)
        return (
            await cache.ask("https://ex.com/private/x"),
            await cache.ask("https://ex.com/news/y"),
        )

    denied, allowed = asyncio.run(ask_twice())
    assert not denied.allowed and "robots.txt" in denied.note
    assert allowed.allowed and allowed.crawl_delay_s == 4.0
    assert fetched == ["https://ex.com/robots.txt"]

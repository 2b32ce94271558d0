"""Ingest with feed state: conditional GET, seen entries and dedup before fetching, end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.feeds.lists import FeedSpec
from connectors.feeds.poll import FeedPoller
from connectors.feeds.schedule import PollPolicy
from connectors.feeds.state import FeedState
from connectors.http import Fetcher
from newsflow.config import FetchSettings
from newsflow.ingest import ingest
from newsflow.outcomes import PollResult, RunReport
from schemas import Article
from tests.http.server import MisbehavingServer

pytestmark = pytest.mark.integration
POLICY = PollPolicy(floor_s=60.0, ceiling_s=3600.0, dead_after=3)
PARAGRAPH = (
    "The council met on Tuesday and agreed, after a long debate, to rebuild the bridge. " * 3
)


class Clock:
    now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


def article_page(title: str) -> tuple[int, dict[str, str], bytes]:
    html = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    html += f"<p>{title}. {PARAGRAPH}</p></article></body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()


def feed(base: str, *entries: tuple[str, str]) -> bytes:
    items = "".join(
        f"<item><guid>{guid}</guid><link>{base}{path}</link><title>{path}</title></item>"
        for guid, path in entries
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def run(
    settings: FetchSettings, state: FeedState, clock: Clock, url: str
) -> tuple[RunReport, list[str]]:
    articles: list[Article] = []

    async def main() -> RunReport:
        async with Fetcher(settings) as fetcher:
            poller = FeedPoller(fetcher, state, POLICY, clock)
            feeds = await ingest(
                [FeedSpec(url)], fetcher=fetcher, publish=articles.append, poller=poller
            )
            return PollResult(feeds, published=[a.id for a in articles]).run_report()

    report = asyncio.run(main())
    return report, sorted(a.title for a in articles)


def test_runs_fetch_each_article_once_and_retry_transient_failures(
    web: MisbehavingServer, settings: FetchSettings, tmp_path: Path
) -> None:
    base, url, clock = web.base_url, f"{web.base_url}/feed", Clock()
    for name in ("a", "b", "c"):
        web.extra_routes[f"/news/{name}"] = article_page(f"Story {name}")
    web.extra_routes["/news/down"] = (503, {"Content-Type": "text/plain"}, b"busy")
    state = FeedState.in_data_dir(tmp_path)

    web.feed_body = feed(base, ("1", "/news/a"), ("2", "/news/b"))
    report, titles = run(settings, state, clock, url)
    assert titles == ["Story a", "Story b"] and not report.skips

    clock.now += 600  # unchanged feed: a 304, nothing parsed or fetched
    report, titles = run(settings, state, clock, url)
    assert titles == [] and report.reasons() == {"not-modified": 1}

    # New ETag: a republished under a new GUID, c new, one entry failing with a 503
    web.etag = '"v2"'
    web.feed_body = feed(
        base, ("1b", "/news/a?utm_source=rss"), ("3", "/news/c"), ("4", "/news/down")
    )
    clock.now += 600
    report, titles = run(settings, state, clock, url)
    assert titles == ["Story c"]
    assert report.reasons() == {"http-status": 1}
    assert web.recorder.hits["/news/a"] == 1

    web.extra_routes["/news/down"] = article_page("Story down")  # back up: retried next run
    clock.now += 600
    report, titles = run(settings, state, clock, url)
    assert titles == ["Story down"]
    assert web.recorder.hits["/news/c"] == 1 and web.recorder.hits["/news/b"] == 1


def test_feed_not_due_is_not_polled(
    web: MisbehavingServer, settings: FetchSettings, tmp_path: Path
) -> None:
    url, clock = f"{web.base_url}/feed", Clock()
    state = FeedState.in_data_dir(tmp_path)
    run(settings, state, clock, url)
    report, _ = run(settings, state, clock, url)
    assert report.reasons() == {"not-due": 1}
    assert web.recorder.hits["/feed"] == 1


def news_sitemap(base: str, *paths: str) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{path}</loc><news:news><news:publication><news:name>Wire</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>2026-11-23T08:00:00Z</news:publication_date>"
        f"<news:title>{path}</news:title></news:news></url>"
        for path in paths
    )
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    ).encode()


@pytest.mark.parametrize("stateful", [False, True], ids=["plain read", "polled with state"])
def test_a_news_sitemap_is_read_the_same_on_every_path(
    web: MisbehavingServer, settings: FetchSettings, tmp_path: Path, stateful: bool
) -> None:
    base, url = web.base_url, f"{web.base_url}/feed"
    for name in ("a", "b"):
        web.extra_routes[f"/news/{name}"] = article_page(f"Story {name}")
    web.feed_body = news_sitemap(base, "/news/a", "/news/b")
    articles: list[Article] = []

    async def main() -> RunReport:
        async with Fetcher(settings) as fetcher:
            state = FeedState.in_data_dir(tmp_path) if stateful else None
            poller = FeedPoller(fetcher, state, POLICY, Clock()) if state else None
            feeds = await ingest(
                [FeedSpec(url)], fetcher=fetcher, publish=articles.append, poller=poller
            )
            return PollResult(feeds, published=[a.id for a in articles]).run_report()

    report = asyncio.run(main())
    assert not report.skips
    assert sorted(a.title for a in articles) == ["Story a", "Story b"]


def test_entries_over_the_per_feed_cap_wait_for_the_next_poll(
    web: MisbehavingServer, settings: FetchSettings, tmp_path: Path
) -> None:
    base, url, clock = web.base_url, f"{web.base_url}/feed", Clock()
    names = [f"n{i}" for i in range(5)]
    for name in names:
        web.extra_routes[f"/news/{name}"] = article_page(f"Story {name}")
    web.feed_body = feed(base, *((name, f"/news/{name}") for name in names))
    capped = settings.model_copy(update={"max_items_per_feed": 2})
    state = FeedState.in_data_dir(tmp_path)

    report, titles = run(capped, state, clock, url)
    assert titles == ["Story n0", "Story n1"]
    assert report.reasons() == {"over-feed-cap": 3}
    assert sum(web.recorder.hits[f"/news/{name}"] for name in names) == 2  # the rest untouched

    clock.now += 600  # same feed: read again in full (no 304), the next two taken
    report, titles = run(capped, state, clock, url)
    assert titles == ["Story n2", "Story n3"] and report.reasons() == {"over-feed-cap": 1}
    clock.now += 600
    report, titles = run(capped, state, clock, url)
    assert titles == ["Story n4"] and not report.skips

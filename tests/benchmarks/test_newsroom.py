"""The soak's simulated newsroom: feeds over time, conditional GET, misbehaviour, pages."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.newsroom import (
    Item,
    Newsroom,
    OutletFault,
    Plan,
    feed_format,
    outlet_host,
    outlet_of,
    plan,
    serving,
)
from connectors.feeds.parse import FeedError, parse_feed
from newsflow.extract import PageInput, extract_article
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.urls import article_id, canonicalize
from schemas import Article

PORT = 8080
TEXT = (
    "The city council approved the new harbour bridge on Monday after a long debate "
    "about its cost, its design and the ferry services it will replace."
)


def _item(outlet: int, seq: int, at_s: float, expect: str | None = None) -> Item:
    return Item(outlet, seq, at_s, f"Bridge vote {seq} <b>&amp;</b>", TEXT, "s1", None, expect)


def _room(faults: list[OutletFault] | None = None) -> Newsroom:
    items = [_item(0, 0, 0.0), _item(0, 1, 50.0), _item(1, 0, 10.0, "gone"), _item(2, 0, 5.0)]
    # seq order differs from time order on purpose: outlet 3 writes seq 1 before seq 0
    items += [_item(3, 1, 1.0), _item(3, 0, 40.0, "empty")]
    return Newsroom(Plan(4, 2.0, items, faults or []), PORT, started_at=1_800_000_000.0)


def _host(outlet: int) -> str:
    return f"{outlet_host(outlet)}:{PORT}"


def _feed_path(outlet: int) -> str:
    return {"rss": "/feed.xml", "atom": "/atom.xml", "json": "/feed.json"}[feed_format(outlet)]


def test_outlet_addresses_round_trip() -> None:
    for number in (0, 199, 200, 1999):
        assert outlet_of(outlet_host(number) + ":8080") == number
    assert outlet_of("127.0.0.1") is None
    assert outlet_of("example.org") is None


def test_feed_lists_only_published_items_and_answers_conditional_get() -> None:
    room = _room()
    first = room.respond(_host(0), "/feed.xml", {}, now_s=20.0)
    assert first.status == 200
    items = parse_feed(first.body, f"http://{_host(0)}/feed.xml")
    assert [item.url for item in items] == [f"http://{_host(0)}/a/0.html"]
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert room.respond(_host(0), "/feed.xml", {"if-none-match": etag}, 30.0).status == 304
    assert room.respond(_host(0), "/feed.xml", {"if-modified-since": modified}, 30.0).status == 304
    later = room.respond(_host(0), "/feed.xml", {"if-none-match": etag}, 60.0)
    assert later.status == 200 and later.headers["ETag"] != etag
    urls = [item.url for item in parse_feed(later.body, f"http://{_host(0)}/feed.xml")]
    assert sorted(urls) == [f"http://{_host(0)}/a/0.html", f"http://{_host(0)}/a/1.html"]
    assert room.respond(_host(0), "/feed.xml", {"if-modified-since": modified}, 60.0).status == 200


@pytest.mark.parametrize("outlet", [0, 1, 2])
def test_every_feed_format_parses_with_hostile_titles_intact(outlet: int) -> None:
    room = _room()
    reply = room.respond(_host(outlet), _feed_path(outlet), {}, now_s=100.0)
    items = parse_feed(reply.body, f"http://{_host(outlet)}{_feed_path(outlet)}")
    assert items
    assert all(item.title is not None and "<b>&amp;</b>" in item.title for item in items)


def test_pages_appear_with_their_item_and_are_found_by_sequence_not_position() -> None:
    room = _room()
    assert room.respond(_host(0), "/a/1.html", {}, now_s=49.0).status == 404
    assert room.respond(_host(0), "/a/1.html", {}, now_s=51.0).status == 200
    page = room.respond(_host(3), "/a/1.html", {}, now_s=2.0)
    assert page.status == 200 and f"http://{_host(3)}/a/1.html".encode() in page.body
    assert room.respond(_host(1), "/a/0.html", {}, now_s=20.0).status == 404  # "gone"


def test_pages_extract_to_articles_under_their_own_url() -> None:
    room = _room()
    url = f"http://{_host(0)}/a/0.html"
    reply = room.respond(_host(0), "/a/0.html", {}, now_s=1.0)
    page = PageInput(reply.body, url, datetime.now(UTC), "utf-8")
    article = extract_article(page, SourceItem(url=url))
    assert isinstance(article, Article)
    assert article.id == article_id(canonicalize(url))
    assert "harbour bridge" in article.text
    empty_url = f"http://{_host(3)}/a/0.html"
    empty = room.respond(_host(3), "/a/0.html", {}, now_s=41.0)
    skipped = extract_article(
        PageInput(empty.body, empty_url, datetime.now(UTC)), SourceItem(url=empty_url)
    )
    assert isinstance(skipped, Skip) and skipped.reason is SkipReason.NO_CONTENT


def test_outlets_misbehave_only_inside_their_window() -> None:
    faults = [
        OutletFault(0, "5xx", 10.0, 20.0),
        OutletFault(1, "timeout", 10.0, 20.0),
        OutletFault(2, "redirect", 10.0, 20.0),
        OutletFault(3, "malformed", 42.0, 20.0),
    ]
    room = _room(faults)
    assert room.respond(_host(0), "/feed.xml", {}, 5.0).status == 200
    assert room.respond(_host(0), "/feed.xml", {}, 15.0).status == 503
    assert room.respond(_host(0), "/feed.xml", {}, 31.0).status == 200
    assert room.respond(_host(1), _feed_path(1), {}, 15.0).hang_s > 0
    moved = room.respond(_host(2), _feed_path(2), {}, 15.0)
    assert moved.status == 301
    assert room.respond(_host(2), moved.headers["Location"], {}, 15.0).status == 200
    feed = f"http://{_host(3)}{_feed_path(3)}"
    broken = room.respond(_host(3), _feed_path(3), {}, 45.0)
    try:  # cut off mid-document: unreadable, or read only up to the cut
        listed = parse_feed(broken.body, feed)
    except FeedError:
        listed = []
    assert len(listed) < 2
    healthy = room.respond(_host(3), _feed_path(3), {}, 65.0)
    assert len(parse_feed(healthy.body, feed)) == 2


def test_plan_is_deterministic_and_outlets_share_stories(shared_dir: Path) -> None:
    first, second = plan(30, 3.0, seed=5), plan(30, 3.0, seed=5)
    assert first == second
    assert plan(30, 3.0, seed=6) != first
    keys = [(item.outlet, item.seq) for item in first.items]
    assert len(keys) == len(set(keys))
    assert all(0 <= item.at_s <= 3.0 * 60 for item in first.items)
    outlets_per_story: dict[str, set[int]] = {}
    for item in first.items:
        outlets_per_story.setdefault(item.story, set()).add(item.outlet)
    assert any(len(outlets) >= 2 for outlets in outlets_per_story.values())
    assert first.faults and all(0 <= f.outlet < 30 for f in first.faults)


def test_served_newsroom_answers_over_loopback_and_logs_appearances(tmp_path: Path) -> None:
    items = [_item(0, 0, 0.0), _item(1, 0, 0.0)]
    log = tmp_path / "published.jsonl"
    with serving(Plan(2, 1.0, items), log, lifetime_s=30) as room:
        url = f"http://{outlet_host(0)}:{room.port}/feed.xml"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"/a/0.html" not in response.read()  # the clock has not started
        assert room.feeds_polled() == 1
        room.start()
        with urllib.request.urlopen(url, timeout=10) as response:
            etag = response.headers["ETag"]
            assert b"/a/0.html" in response.read()
        request = urllib.request.Request(url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(request, timeout=10)
        assert not_modified.value.code == 304
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(log.read_text().splitlines()) < 2:
            time.sleep(0.1)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["url"] for r in records) == sorted(i.url(room.port) for i in items)
    assert all(r["appeared_at"] >= room.started_at for r in records)

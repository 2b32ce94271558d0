"""The soak's accounting: reconciliation, percentiles, skip records, fault schedule, report."""

from __future__ import annotations

from benchmarks.soak import (
    _last_store_at,
    _longest_store_gap,
    fault_schedule,
    parse_feed_table,
    parse_run_skips,
)
from benchmarks.soak_report import (
    Published,
    SkipRecord,
    StoredArticle,
    build_report,
    freshness,
    markdown,
    percentiles,
    reconcile,
    skip_reason,
)

FEED = "http://127.1.0.1:80/feed.xml"


def _pub(n: int, expect: str | None = None, feed: str = FEED) -> Published:
    return Published(f"http://127.1.0.1:80/a/{n}.html", feed, 1000.0 + n, expect)


def _doc(n: int, story: str | None = "s1", suffix: str = "") -> StoredArticle:
    return StoredArticle(f"id{n}{suffix}", f"http://127.1.0.1:80/a/{n}.html", story)


def test_every_item_is_stored_skipped_stuck_or_lost() -> None:
    published = [_pub(0), _pub(1), _pub(2, "http-status"), _pub(3), _pub(4), _pub(5, "no-content")]
    stored = [_doc(0), _doc(1)]
    skips = [
        SkipRecord("http-status", url=_pub(2).url),
        SkipRecord("timeout", url=_pub(3).url),
        SkipRecord("not-modified", url=FEED),  # about the feed, never an item's fate
        SkipRecord("no-content", feed=FEED, count=1),
    ]
    result = reconcile(published, stored, skips, {"s1"})
    assert (result.published, result.stored, result.duplicates) == (6, 2, 0)
    assert result.skipped == {"http-status": 1, "no-content": 1}
    assert result.stuck == [_pub(3).url]
    assert result.lost == [_pub(4).url]
    assert not result.unexpected_skips


def test_two_documents_for_one_item_are_a_duplicate_and_stories_must_exist() -> None:
    stored = [_doc(0), _doc(0, suffix="-bis"), _doc(1, story=None), _doc(2, story="gone")]
    result = reconcile([_pub(0), _pub(1), _pub(2)], stored, [], {"s1"})
    assert result.stored == 3
    assert result.duplicates == 1
    assert result.not_in_one_story == 2


def test_a_skip_the_newsroom_did_not_intend_is_flagged() -> None:
    result = reconcile([_pub(0, "no-content")], [], [SkipRecord("http-status", url=_pub(0).url)])
    assert result.skipped == {"http-status": 1}
    assert result.unexpected_skips == {"http-status": 1}


def test_feed_counted_skips_are_used_once_each_final_reasons_first() -> None:
    published = [_pub(0), _pub(1), _pub(2)]
    skips = [SkipRecord("http-status-5xx", feed=FEED), SkipRecord("http-status", feed=FEED)]
    result = reconcile(published, [], skips)
    assert result.skipped == {"http-status": 1}
    assert result.stuck == [_pub(1).url]
    assert result.lost == [_pub(2).url]


def test_server_errors_are_told_apart_from_final_statuses() -> None:
    assert skip_reason("http-status", "HTTP 503") == "http-status-5xx"
    assert skip_reason("http-status", "HTTP 429 slow down") == "http-status-5xx"
    assert skip_reason("http-status", "HTTP 404") == "http-status"
    assert skip_reason("no-content", "12 characters") == "no-content"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "max": 100.0, "n": 100}
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "max": 7.0, "n": 1}
    assert percentiles([])["p95"] is None


def test_freshness_splits_items_that_appeared_during_a_fault() -> None:
    start = 1000.0
    appeared = {"a": 1010.0, "b": 1100.0, "c": 1200.0, "unknown-to-store": 1300.0}
    searchable = {"a": 1015.0, "b": 1190.0, "c": 1230.0}
    faults = [{"kind": "pause-broker", "at_s": 90.0, "duration_s": 30.0}]
    result = freshness(appeared, searchable, faults, start, slack_s=0.0)
    assert result["overall"]["max"] == 90.0 and result["overall"]["n"] == 3
    assert result["during_faults"]["n"] == 1 and result["during_faults"]["p50"] == 90.0
    assert result["outside_faults"]["n"] == 2 and result["outside_faults"]["max"] == 30.0
    with_slack = freshness(appeared, searchable, faults, start, slack_s=100.0)
    assert with_slack["during_faults"]["n"] == 2
    outlet_fault = [{"kind": "outlet-5xx", "at_s": 0.0, "duration_s": 300.0, "outlet": 7}]
    outlets = {"a": 7, "b": 8, "c": 8}
    by_outlet = freshness(appeared, searchable, outlet_fault, start, 0.0, outlets)
    assert by_outlet["during_faults"]["n"] == 1 and by_outlet["during_faults"]["max"] == 5.0


def test_fault_schedule_covers_four_kinds_inside_the_stream() -> None:
    faults = fault_schedule("kafka", minutes=8)
    kinds = {f"{f.kind}-{f.target}" for f in faults}
    assert {"kill-cluster", "kill-index", "kill-poller", "pause-broker", "pause-search"} == kinds
    assert all(f.at_s >= 60 and f.at_s + f.duration_s <= 8 * 60 for f in faults)
    assert [f.at_s for f in faults] == sorted(f.at_s for f in faults)
    assert {f.target for f in fault_schedule("embedded", minutes=5)} == {"run"}
    assert fault_schedule("kafka", minutes=1) == []


def test_skip_lines_and_feed_tables_are_read_back() -> None:
    log = "\n".join(
        [
            "skipped http-status: http://127.1.0.2:80/a/1.html (HTTP 404)",
            "skipped http-status: http://127.1.0.2:80/a/2.html (HTTP 503)",
            "skipped not-modified: http://127.1.0.2:80/feed.xml",
            "3 article(s) ingested; skipped: 1 http-status",
        ]
    )
    records = parse_run_skips(log)
    assert [(r.reason, r.url) for r in records] == [
        ("http-status", "http://127.1.0.2:80/a/1.html"),
        ("http-status-5xx", "http://127.1.0.2:80/a/2.html"),
        ("not-modified", "http://127.1.0.2:80/feed.xml"),
    ]
    rows = [
        {"url": FEED, "status": "new", "reason": "2 no-content, 1 http-status"},
        {"url": "http://x/feed", "status": "failed", "reason": "http-status: HTTP 503"},
        {"url": "http://y/feed", "status": "unchanged", "reason": ""},
    ]
    assert parse_feed_table(rows) == [
        SkipRecord("no-content", feed=FEED, count=2),
        SkipRecord("http-status", feed=FEED, count=1),
    ]


def test_report_has_the_agreed_fields_and_a_table() -> None:
    rec = reconcile(
        [_pub(0), _pub(1)], [_doc(0)], [SkipRecord("no-content", url=_pub(1).url)], {"s1"}
    )
    fresh = freshness({_pub(0).url: 1000.0}, {_pub(0).url: 1012.0}, [], 990.0, 0.0)
    faults = [{"kind": "kill-index", "at_s": 60.0, "duration_s": 5.0}]
    report = build_report(
        rec,
        transport="kafka",
        feeds=2,
        minutes=1.0,
        poll_interval_s=30.0,
        fresh=fresh,
        faults=faults,
        duration_s=100.0,
        services={"index": {"cpu_s": 5.0, "peak_rss_mib": 100.0, "restarts": 1}},
        dead_letters=0,
        timeline=[],
    )
    for key in (
        "published",
        "stored",
        "lost",
        "duplicates",
        "skipped",
        "faults",
        "freshness_s",
        "throughput_per_s",
        "poll_interval_s",
    ):
        assert key in report
    assert (report["published"], report["stored"], report["lost"]) == (2, 1, 0)
    assert report["skipped"] == {"no-content": 1}
    assert report["freshness_s"]["p95"] == 12.0
    assert report["throughput_per_s"] == 0.01
    assert report["services"]["index"]["cpu_s_per_article"] == 5.0
    table = markdown(report)
    assert "| stored | 1 |" in table and "| kill-index | 1 | 60.0 | 5.0 |" in table


def test_drain_reads_when_the_store_last_grew_and_its_longest_pause() -> None:
    timeline = [
        {"t_s": t, "stored": n}
        for t, n in [(0, 0), (2, 0), (4, 5), (6, 5), (40, 5), (42, 9), (44, 9)]
    ]
    assert _last_store_at(timeline) == 42
    assert _longest_store_gap(timeline) == 38
    assert _longest_store_gap(timeline[:4]) == 4  # the wait for the first store counts
    assert _last_store_at(timeline[:2]) == 0 and _longest_store_gap(timeline[:2]) == 0.0

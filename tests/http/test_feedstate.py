"""Feed state persistence: records, seen keys, and deferred commits for at-least-once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from connectors.feeds.lists import FeedSpec
from connectors.feeds.state import FeedState


def test_records_and_seen_keys_survive_reopening(tmp_path: Path) -> None:
    with FeedState.in_data_dir(tmp_path) as state:
        assert state.add([FeedSpec("https://a.example/rss", name="A", group="g")], 600) == 1
        record = state.get("https://a.example/rss")
        assert record is not None
        state.save(replace(record, etag='"x"', failures=2))
        state.mark_seen("https://a.example/rss", [("guid", "1"), ("url", "https://a/1")], 1.0)
        state.mark_articles(["https://a/1"], 1.0)
    with FeedState.in_data_dir(tmp_path) as state:
        record = state.get("https://a.example/rss")
        assert record is not None and record.etag == '"x"' and record.failures == 2
        assert record.name == "A" and record.feed_group == "g" and record.interval_s == 600
        keys = state.seen_keys("https://a.example/rss", [("guid", "1"), ("guid", "2")])
        assert keys == {("guid", "1")}
        assert state.seen_keys("https://other.example/rss", [("guid", "1")]) == set()
        assert state.articles_seen(["https://a/1", "https://a/2"]) == {"https://a/1"}
        assert state.forget_before(2.0) == 3


def test_deferred_writes_are_lost_unless_committed(tmp_path: Path) -> None:
    with FeedState.in_data_dir(tmp_path, autocommit=False) as state:
        state.mark_articles(["https://a/1"], 1.0)
        assert state.articles_seen(["https://a/1"]) == {"https://a/1"}  # visible in the run
    with FeedState.in_data_dir(tmp_path, autocommit=False) as state:
        assert state.articles_seen(["https://a/1"]) == set()  # the run died: nothing kept
        state.mark_articles(["https://a/2"], 1.0)
        state.commit()
    with FeedState.in_data_dir(tmp_path) as state:
        assert state.articles_seen(["https://a/1", "https://a/2"]) == {"https://a/2"}

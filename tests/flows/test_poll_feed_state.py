"""poll-feeds keeps feed state across runs, like `newsflow run`: conditional GET, per-feed
seen entries, articles not fetched twice, transient failures offered again, not-due feeds."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from connectors.feeds.lists import FeedSpec
from connectors.feeds.state import FeedState, feed_state_turn
from flows.poll_report import FeedStatus
from newsflow.outcomes import SkipReason
from tests.flows.news_site import NewsSite
from tests.flows.polling import article_hits, by_name, read_artifacts, run_poll, write_feed_list

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

SEED = "/2025/03/06/alibaba-qwq-32b-deepseek-rival"
# One feed group per test: artifact keys are per group, and the Prefect API is per session.
GROUP_304, GROUP_RETRY, GROUP_NOT_DUE = "state-304", "state-retry", "state-not-due"
GROUP_TURNS = "state-turns"
OTHER_FEED = "http://127.0.0.1:9/other.xml"
HOLD_S = 8.0  # longer than SQLite's 5 s busy timeout


def corpus_paths(site: NewsSite) -> list[str]:
    return sorted(path for path in site.pages if path.startswith("/articles/"))


def table_rows(key: str) -> list[dict[str, dict[str, object]]]:
    """Each stored feed table under `key`, newest first, as rows by feed name."""
    return [
        {row["feed"]: row for row in json.loads(artifact.data)} for artifact in read_artifacts(key)
    ]


def test_second_run_gets_304_and_only_a_new_entry_is_fetched(
    site: NewsSite, tmp_path: Path
) -> None:
    first_pages, second_page, new_page = corpus_paths(site)[:3]
    wire = site.add_feed("/feeds/wire.xml", [SEED, first_pages, second_page])
    feeds_file = write_feed_list(tmp_path / "feeds.yml", {"wire": wire}, group=GROUP_304)

    first = run_poll(feeds_file, GROUP_304)
    assert by_name(first)["wire"].articles == 3
    assert article_hits(site) == {SEED: 1, first_pages: 1, second_page: 1}

    # Same feed again: the stored ETag gets a 304; nothing is parsed or fetched.
    second = run_poll(feeds_file, GROUP_304)
    quiet = by_name(second)["wire"]
    assert site.not_modified["/feeds/wire.xml"] == 1
    assert quiet.status is FeedStatus.UNCHANGED
    assert quiet.not_read is not None and quiet.not_read.reason is SkipReason.NOT_MODIFIED
    assert (quiet.listed, quiet.articles) == (0, 0)
    assert second.published == []
    assert article_hits(site) == {SEED: 1, first_pages: 1, second_page: 1}

    # One entry added, and a second feed listing an article fetched in the first run.
    site.add_feed("/feeds/wire.xml", [SEED, first_pages, second_page, new_page])
    mirror = site.add_feed("/feeds/mirror.xml", [first_pages])
    write_feed_list(feeds_file, {"wire": wire, "mirror": mirror}, group=GROUP_304)
    third = run_poll(feeds_file, GROUP_304)
    feeds = by_name(third)
    assert article_hits(site) == {SEED: 1, first_pages: 1, second_page: 1, new_page: 1}
    assert len(third.published) == 1
    assert [article.url for article in third.articles] == [site.base_url + new_page]
    assert (feeds["wire"].listed, feeds["wire"].articles, feeds["wire"].seen_before) == (4, 1, 3)
    assert (feeds["mirror"].listed, feeds["mirror"].articles) == (1, 0)
    assert feeds["mirror"].seen_before == 1  # fetched in an earlier run, by another feed

    newest, middle, oldest = table_rows(f"poll-feeds-{GROUP_304}-feeds")
    assert oldest["wire"]["new articles"] == 3
    assert (middle["wire"]["status"], middle["wire"]["reason"]) == ("unchanged", "not-modified")
    assert newest["wire"]["status"] == "new"
    assert (newest["wire"]["listed"], newest["wire"]["new articles"]) == (4, 1)
    assert newest["wire"]["seen before"] == 3
    assert (newest["mirror"]["status"], newest["mirror"]["seen before"]) == ("unchanged", 1)


def test_entry_that_failed_transiently_is_offered_again(site: NewsSite, tmp_path: Path) -> None:
    steady, flaky = corpus_paths(site)[:2]
    site.pages[flaky].statuses = [503, 200]  # fails in the first run (not retried in it)
    feeds_file = write_feed_list(
        tmp_path / "feeds.yml",
        {"wire": site.add_feed("/feeds/wire.xml", [steady, flaky])},
        group=GROUP_RETRY,
    )

    first = by_name(run_poll(feeds_file, GROUP_RETRY))["wire"]
    assert first.articles == 1
    assert [skip.reason for skip in first.item_skips] == [SkipReason.HTTP_STATUS]
    assert site.hits[flaky] == 1

    # The feed's validators were not stored: it is read in full and the entry comes back.
    second = run_poll(feeds_file, GROUP_RETRY)
    wire = by_name(second)["wire"]
    assert site.not_modified["/feeds/wire.xml"] == 0
    assert (wire.listed, wire.articles, wire.seen_before) == (2, 1, 1)
    assert [article.url for article in second.articles] == [site.base_url + flaky]
    assert (site.hits[steady], site.hits[flaky]) == (1, 2)

    # Everything handled now: the next poll is a 304.
    third = by_name(run_poll(feeds_file, GROUP_RETRY))["wire"]
    assert third.not_read is not None and third.not_read.reason is SkipReason.NOT_MODIFIED
    assert site.not_modified["/feeds/wire.xml"] == 1


def test_feed_polled_recently_is_not_due(
    site: NewsSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_FETCH_POLL_FLOOR_MINUTES", "60")
    feeds_file = write_feed_list(
        tmp_path / "feeds.yml",
        {"wire": site.add_feed("/feeds/wire.xml", [SEED])},
        group=GROUP_NOT_DUE,
    )
    assert by_name(run_poll(feeds_file, GROUP_NOT_DUE))["wire"].status is FeedStatus.NEW

    second = run_poll(feeds_file, GROUP_NOT_DUE)
    wire = by_name(second)["wire"]
    assert site.hits["/feeds/wire.xml"] == 1  # not requested again
    assert wire.status is FeedStatus.NOT_DUE
    assert [skip.reason for skip in second.run_report().skips] == [SkipReason.NOT_DUE]
    newest = table_rows(f"poll-feeds-{GROUP_NOT_DUE}-feeds")[0]
    assert newest["wire"]["status"] == "not-due"
    assert str(newest["wire"]["reason"]).startswith("not-due: polled recently")
    stories = read_artifacts(f"poll-feeds-{GROUP_NOT_DUE}-stories")[0].data
    assert "1 feed(s) polled: 0 new, 0 unchanged, 1 not-due, 0 failed" in stories


def test_a_run_waits_while_another_run_holds_the_feed_state(
    site: NewsSite, tmp_path: Path, newsflow_env: Path
) -> None:
    # A run holds one feed-state write transaction until it is done. Another group's run on
    # the same data dir (another deployment, another process) must wait for its turn, not
    # fail on a locked database (SQLite gives up after 5 s, so the other run holds longer).
    feeds_file = write_feed_list(
        tmp_path / "feeds.yml",
        {"wire": site.add_feed("/feeds/wire.xml", [SEED])},
        group=GROUP_TURNS,
    )
    holding, feed_hits_at_release = threading.Event(), []

    def other_run() -> None:
        async def hold() -> None:
            async with feed_state_turn(newsflow_env) as state:
                state.add([FeedSpec(OTHER_FEED)], 60)
                holding.set()
                await asyncio.sleep(HOLD_S)
                feed_hits_at_release.append(site.hits["/feeds/wire.xml"])
                state.commit()

        asyncio.run(hold())

    other = threading.Thread(target=other_run)
    other.start()
    assert holding.wait(timeout=30)
    result = run_poll(feeds_file, GROUP_TURNS)
    other.join()

    assert feed_hits_at_release == [0]  # the run did not poll while the other held the state
    assert by_name(result)["wire"].articles == 1
    with FeedState.in_data_dir(newsflow_env) as state:
        assert {feed.url for feed in state.feeds()} == {
            OTHER_FEED,
            site.base_url + "/feeds/wire.xml",
        }

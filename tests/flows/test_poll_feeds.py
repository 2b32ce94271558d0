"""poll-feeds under Prefect's test harness, against a loopback news site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.poll_report import FeedStatus
from newsflow.outcomes import SkipReason
from tests.flows.news_site import NewsSite
from tests.flows.polling import article_hits, by_name, read_artifacts, run_poll, write_feed_list

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

SEED_PATHS = [
    "/2025/03/06/alibaba-qwq-32b-deepseek-rival",
    "/tech/alibaba-unveils-qwq-32b-reasoning-model",
]


def articles_links(site: NewsSite) -> list[str]:
    corpus = [path for path in site.pages if path.startswith("/articles/")]
    return SEED_PATHS + corpus + [SEED_PATHS[0], "/articles/missing.html"]


def test_poll_reports_new_unchanged_and_failed_feeds(site: NewsSite, tmp_path: Path) -> None:
    links = articles_links(site)
    feeds_file = write_feed_list(
        tmp_path / "feeds.yml",
        {
            "world": site.add_feed("/feeds/world.xml", links),
            "flaky": site.add_feed("/feeds/flaky.xml", [SEED_PATHS[1]], statuses=[503, 200]),
            "down": site.add_feed("/feeds/down.xml", [], statuses=[503]),
            "gone": site.add_feed("/feeds/gone.xml", [], statuses=[404]),
        },
    )
    first = run_poll(feeds_file)
    feeds = by_name(first)

    world = feeds["world"]
    assert world.status is FeedStatus.NEW
    assert world.listed == len(links)
    # Every listed item is an article, a duplicate or a skip with its reason: none is lost.
    assert world.articles + world.seen_before + len(world.item_skips) == world.listed
    assert world.seen_before == 1  # the seed listed twice
    assert SkipReason.HTTP_STATUS in {skip.reason for skip in world.item_skips}
    assert world.articles >= len(SEED_PATHS)

    # Failures are reported with their reason, not retried within the round (the feed state
    # polls a feed that may heal again after its backoff: see the second run).
    for name in ("flaky", "down"):
        assert site.hits[f"/feeds/{name}.xml"] == 1
        assert feeds[name].status is FeedStatus.FAILED
        assert feeds[name].reason == "http-status: HTTP 503"
    assert site.hits["/feeds/gone.xml"] == 1
    assert feeds["gone"].status is FeedStatus.FAILED

    # Everything published was clustered and indexed in-process; the stories came back.
    assert {a.id for a in first.articles} == set(first.published)
    assert {a.story_id for a in first.articles} == {s.id for s in first.stories}
    assert None not in {a.story_id for a in first.articles}

    fetched = article_hits(site)
    second = run_poll(feeds_file)
    world_again = by_name(second)["world"]
    # The feed answered 304 to its stored ETag: nothing was read, no article fetched again.
    assert world_again.status is FeedStatus.UNCHANGED
    assert world_again.reason == "not-modified"
    assert (world_again.listed, world_again.articles) == (0, 0)
    assert site.not_modified["/feeds/world.xml"] == 1
    assert article_hits(site) == fetched
    assert second.published == []
    # 503 then 200: polled again, and its one item was already taken from the world feed.
    flaky = by_name(second)["flaky"]
    assert site.hits["/feeds/flaky.xml"] == 2
    assert (flaky.status, flaky.seen_before) == (FeedStatus.UNCHANGED, 1)


def test_poll_publishes_feed_table_and_story_summary(site: NewsSite, tmp_path: Path) -> None:
    feeds_file = write_feed_list(
        tmp_path / "feeds.yml",
        {
            "seeds wire": site.add_feed("/feeds/seeds.xml", SEED_PATHS[:1]),
            "gone": site.add_feed("/feeds/gone.xml", [], statuses=[404]),
        },
        group="Tech News",
    )
    run_poll(feeds_file, group="Tech News")
    site.add_feed("/feeds/seeds.xml", SEED_PATHS)  # the second outlet's report appears
    run_poll(feeds_file, group="Tech News")

    second_table, first_table = read_artifacts("poll-feeds-tech-news-feeds")
    rows = {row["feed"]: row for row in json.loads(first_table.data)}
    assert rows["seeds wire"]["status"] == "new"
    assert rows["seeds wire"]["new articles"] == 1
    assert rows["gone"]["status"] == "failed"
    assert rows["gone"]["reason"] == "http-status: HTTP 404"
    rows = {row["feed"]: row for row in json.loads(second_table.data)}
    assert (rows["seeds wire"]["new articles"], rows["seeds wire"]["seen before"]) == (1, 1)

    second, first = (a.data for a in read_artifacts("poll-feeds-tech-news-stories"))
    assert "## New stories (1)" in first and "+1 article(s), 1 in all" in first
    assert "## Growing stories (0)" in first
    # New or growing depends on the clusterer (see test_poll_report); the article is listed.
    assert "+1 article(s)" in second and "new article(s) were not clustered" not in second


def test_unknown_group_fails_the_run_clearly(site: NewsSite, tmp_path: Path) -> None:
    feeds_file = write_feed_list(tmp_path / "feeds.yml", {"a": site.add_feed("/a.xml", [])})
    with pytest.raises(ValueError, match="no feeds in group 'sports'"):
        run_poll(feeds_file, group="sports")

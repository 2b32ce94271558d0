"""poll-feeds under Prefect's test harness, against a loopback news site."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.poll_feeds import poll_feeds
from flows.poll_report import FeedStatus, PollResult
from newsflow.outcomes import SkipReason
from tests.flows.news_site import NewsSite, news_site

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

SEED_PATHS = [
    "/2025/03/06/alibaba-qwq-32b-deepseek-rival",
    "/tech/alibaba-unveils-qwq-32b-reasoning-model",
]
CORPUS_PAGES = 4


@pytest.fixture()
def site(corpus_dir: Path, seeds_dir: Path, newsflow_env: Path) -> Iterator[NewsSite]:
    with news_site(corpus_dir, seeds_dir, CORPUS_PAGES) as served:
        yield served


def write_feed_list(path: Path, feeds: dict[str, str], group: str = "world") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "feeds": [
                    {"url": url, "name": name, "group": group} for name, url in feeds.items()
                ],
                "groups": {group: {"interval_minutes": 5}},
            }
        )
    )
    return path


def run_poll(feeds_file: Path, group: str = "world") -> PollResult:
    return asyncio.run(poll_feeds(str(feeds_file), group, retry_delay_s=0.01))


def by_name(result: PollResult) -> dict[str, Any]:
    return {feed.name: feed for feed in result.feeds}


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

    # 503 then 200: retried, and its one item was already taken from the world feed.
    assert site.hits["/feeds/flaky.xml"] == 2
    assert feeds["flaky"].status is FeedStatus.UNCHANGED
    assert feeds["flaky"].seen_before == 1
    # Always 503: tried once plus two retries, then reported with the reason.
    assert site.hits["/feeds/down.xml"] == 3
    assert feeds["down"].status is FeedStatus.FAILED
    assert feeds["down"].reason == "http-status: HTTP 503"
    # 404 will not heal: no retry.
    assert site.hits["/feeds/gone.xml"] == 1
    assert feeds["gone"].status is FeedStatus.FAILED

    # Everything published was clustered and indexed in-process; the stories came back.
    assert {a.id for a in first.articles} == set(first.published)
    assert {a.story_id for a in first.articles} == {s.id for s in first.stories}
    assert None not in {a.story_id for a in first.articles}

    second = run_poll(feeds_file)
    world_again = by_name(second)["world"]
    assert world_again.status is FeedStatus.UNCHANGED
    assert world_again.articles == 0
    assert world_again.seen_before == world.articles + 1
    assert second.published == []


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

    async def artifacts(key: str) -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                sort=ArtifactSort.CREATED_DESC,
            )

    second_table, first_table = asyncio.run(artifacts("poll-feeds-tech-news-feeds"))
    rows = {row["feed"]: row for row in json.loads(first_table.data)}
    assert rows["seeds wire"]["status"] == "new"
    assert rows["seeds wire"]["new articles"] == 1
    assert rows["gone"]["status"] == "failed"
    assert rows["gone"]["reason"] == "http-status: HTTP 404"
    rows = {row["feed"]: row for row in json.loads(second_table.data)}
    assert (rows["seeds wire"]["new articles"], rows["seeds wire"]["seen before"]) == (1, 1)

    second, first = (a.data for a in asyncio.run(artifacts("poll-feeds-tech-news-stories")))
    assert "## New stories (1)" in first and "+1 article(s), 1 in all" in first
    assert "## Growing stories (0)" in first
    # New or growing depends on the clusterer (see test_poll_report); the article is listed.
    assert "+1 article(s)" in second and "new article(s) were not clustered" not in second


def test_unknown_group_fails_the_run_clearly(site: NewsSite, tmp_path: Path) -> None:
    feeds_file = write_feed_list(tmp_path / "feeds.yml", {"a": site.add_feed("/a.xml", [])})
    with pytest.raises(ValueError, match="no feeds in group 'sports'"):
        run_poll(feeds_file, group="sports")

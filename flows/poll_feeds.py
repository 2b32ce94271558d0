"""`poll-feeds`: poll one feed group through the one producer path, and report.

A thin layer over `Pipeline.poll`, the path `newsflow run` takes, with the same steps. The
whole round is one `poll-round` task run, not one per feed and article, so a group of
thousands of feeds costs the Prefect server a handful of calls; a transient failure is not
retried within the round but left to the feed state, which offers it again next round
(docs/decisions.md). What each feed gave is in the run's artifacts. Each run reads the feed list at start (so feeds added to a
group count from the next run) and polls its group with the feed state: due feeds only,
conditional GET, unseen entries, articles already fetched or stored skipped. On the embedded
defaults the run then clusters and indexes them itself; with Kafka the cluster and indexer
services do. Only then is the feed state committed. Each run publishes two artifacts: a
table of the feeds polled and a markdown summary of new and growing stories.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from connectors.feeds.lists import FeedSpec, load_feed_list
from flows.poll_report import feed_table, stories_markdown
from newsflow.config import load_settings
from newsflow.outcomes import PollResult
from newsflow.pipeline import Pipeline


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lower-case letters, digits and dashes) from `parts`."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


async def publish_artifacts(name: str, title: str, result: PollResult) -> None:
    """The run's table of feeds and markdown story summary, as Prefect artifacts."""
    await acreate_table_artifact(
        table=feed_table(result.feeds),
        key=artifact_key(name, "feeds"),
        description=f"{title}: feeds polled",
    )
    await acreate_markdown_artifact(
        markdown=stories_markdown(title, result),
        key=artifact_key(name, "stories"),
        description=f"{title}: new and growing stories",
    )


@task(name="poll-round", cache_policy=NO_CACHE)
async def poll_round(specs: list[FeedSpec]) -> PollResult:
    """One round over `specs` on the shared producer path, with the feed state."""
    with Pipeline(load_settings()) as pipeline:
        return await pipeline.poll(specs, stateful=True)


@flow(name="poll-feeds")
async def poll_feeds(feeds_file: str, group: str) -> PollResult:
    """Poll every feed of `group` in the feed list `feeds_file` and ingest what is new."""
    specs = load_feed_list(Path(feeds_file)).groups().get(group)
    if not specs:
        raise ValueError(f"{feeds_file} has no feeds in group {group!r}")
    result = await poll_round(list(specs))
    await publish_artifacts(f"poll-feeds-{group}", f"poll-feeds, group {group}", result)
    get_run_logger().info(
        "%d feed(s), %d new article(s), %d story(ies) touched",
        len(result.feeds),
        len(result.published),
        len(result.stories),
    )
    return result

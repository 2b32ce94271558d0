"""`poll-feeds`: poll one feed group, one task per feed and per article, and report.

Each run reads the feed list at start (so feeds added to a group count from the next run),
fetches every feed of its group, then fetches and extracts every item not seen before (not
yet in the search store, not listed twice in the run) and publishes the articles. On the
embedded defaults the run then clusters and indexes them itself; with Kafka the cluster and
indexer services do. Each run publishes two artifacts: a table of the feeds polled and a
markdown summary of new and growing stories.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from connectors.feedlist import FeedSpec, load_feed_list
from connectors.http import Fetcher
from flows.fetch_tasks import (
    FetchArticle,
    ReadFeed,
    fetch_and_extract,
    read_feed,
    with_retries,
)
from flows.poll_report import FeedOutcome, PollResult, feed_table, stories_markdown
from newsflow.config import Settings, load_settings
from newsflow.outcomes import Skip, SkipReason
from newsflow.pipeline import Pipeline
from newsflow.sources import SourceItem
from newsflow.urls import article_id, canonicalize
from schemas import Article

DEFAULT_RETRY_DELAY_S = 10.0
STORY_LOOKUP_LIMIT = 1000

T = TypeVar("T")


async def poll_sources(
    settings: Settings,
    pipeline: Pipeline,
    *,
    feeds: Sequence[FeedSpec] = (),
    direct: FeedOutcome | None = None,
    direct_items: Sequence[SourceItem] = (),
    skip_seen: bool = True,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
    published_as: Callable[[Article], Article] = lambda article: article,
) -> PollResult:
    """Read `feeds` (plus `direct_items`, reported under `direct`), ingest what is new.

    `skip_seen=False` re-ingests items already in the store (a replay must be repeatable);
    `published_as` may restate an article before it is published (see `newsflow.replay`).
    """
    timeout_s = settings.fetch.total_timeout_s
    read = with_retries(read_feed, timeout_s, retry_delay_s)
    fetch = with_retries(fetch_and_extract, timeout_s, retry_delay_s)
    # Task runs in flight; the fetcher itself holds requests to its global and per-host limits.
    slots = asyncio.Semaphore(settings.fetch.concurrency)

    async def limited(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    async with Fetcher(settings.fetch) as fetcher:
        listings = await asyncio.gather(*(limited(_read(read, fetcher, spec)) for spec in feeds))
        outcomes = [FeedOutcome(url=spec.url, name=spec.name) for spec in feeds]
        work: list[tuple[FeedOutcome, SourceItem]] = []
        for outcome, listing in zip(outcomes, listings, strict=True):
            if isinstance(listing, Skip):
                outcome.error = listing
            else:
                work += [(outcome, item) for item in listing]
        if direct is not None:
            outcomes.append(direct)
            work += [(direct, item) for item in direct_items]
        fresh = _new_items(pipeline, work, skip_seen)
        articles = await asyncio.gather(
            *(limited(_fetch(fetch, fetcher, item)) for _, item in fresh)
        )
    published: list[str] = []
    for (outcome, _), article in zip(fresh, articles, strict=True):
        if isinstance(article, Skip):
            outcome.item_skips.append(article)
        else:
            article = published_as(article)
            pipeline.publish(article)
            published.append(article.id)
            outcome.articles += 1
    return _settle(settings, pipeline, PollResult(feeds=outcomes, published=published))


async def _read(read: ReadFeed, fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
    try:
        return await read(fetcher, spec)
    except Exception as exc:  # retries are spent: report it, do not crash the run
        return _final_skip(spec.url, exc)


async def _fetch(fetch: FetchArticle, fetcher: Fetcher, item: SourceItem) -> Article | Skip:
    try:
        return await fetch(fetcher, item)
    except Exception as exc:
        return _final_skip(item.url, exc)


def _final_skip(url: str, exc: Exception) -> Skip:
    skip = getattr(exc, "skip", None)
    if isinstance(skip, Skip):
        return skip
    if isinstance(exc, TimeoutError):
        return Skip(url, SkipReason.TIMEOUT, "task timed out")
    raise exc


def _new_items(
    pipeline: Pipeline, work: list[tuple[FeedOutcome, SourceItem]], skip_seen: bool
) -> list[tuple[FeedOutcome, SourceItem]]:
    """Drop items listed twice in this run and, with `skip_seen`, those already stored."""
    ids: dict[str, tuple[FeedOutcome, SourceItem]] = {}
    for outcome, item in work:
        outcome.listed += 1
        try:
            key = article_id(canonicalize(item.url))
        except ValueError as exc:
            outcome.item_skips.append(Skip(item.url, SkipReason.INVALID_URL, str(exc)))
            continue
        if key in ids:
            outcome.seen_before += 1
        else:
            ids[key] = (outcome, item)
    if skip_seen:
        for stored in pipeline.store.get_articles(list(ids)):
            outcome, _ = ids.pop(stored.id)
            outcome.seen_before += 1
    return list(ids.values())


def _settle(settings: Settings, pipeline: Pipeline, result: PollResult) -> PollResult:
    """Cluster and index (in-process, or by waiting for the Kafka services when
    `[kafka] services_running`); then read back what is stored."""
    result.handled = pipeline.process().handled
    result.articles = pipeline.store.get_articles(result.published)
    story_ids = {a.story_id for a in result.articles if a.story_id}
    if story_ids:
        since = min(a.event_time for a in result.articles)
        stored = pipeline.store.stories(since=since, limit=STORY_LOOKUP_LIMIT)
        result.stories = [story for story in stored if story.id in story_ids]
    return result


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


@flow(name="poll-feeds")
async def poll_feeds(
    feeds_file: str, group: str, retry_delay_s: float = DEFAULT_RETRY_DELAY_S
) -> PollResult:
    """Poll every feed of `group` in the feed list `feeds_file` and ingest what is new."""
    settings = load_settings()
    specs = load_feed_list(Path(feeds_file)).groups().get(group)
    if not specs:
        raise ValueError(f"{feeds_file} has no feeds in group {group!r}")
    with Pipeline(settings) as pipeline:
        result = await poll_sources(settings, pipeline, feeds=specs, retry_delay_s=retry_delay_s)
    await publish_artifacts(f"poll-feeds-{group}", f"poll-feeds, group {group}", result)
    get_run_logger().info(
        "%d feed(s), %d new article(s), %d story(ies) touched",
        len(result.feeds),
        len(result.published),
        len(result.stories),
    )
    return result

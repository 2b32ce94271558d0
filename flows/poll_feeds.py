"""`poll-feeds`: poll one feed group, one task per feed and per article, and report.

Each run reads the feed list at start (so feeds added to a group count from the next run)
and polls the feeds of its group with the feed state `newsflow run` keeps (`FeedPoller`):
only feeds that are due, with conditional GET, reading only entries not seen in an earlier
poll. It then fetches and extracts every entry not seen before (not fetched in an earlier
run, not yet in the search store, not listed twice in the run) and publishes the articles.
On the embedded defaults the run then clusters and indexes them itself; with Kafka the
cluster and indexer services do. Only then is the feed state committed, so a run that dies
earlier reads the same entries again. Each run publishes two artifacts: a table of the feeds
polled and a markdown summary of new and growing stories.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from connectors.feeds.lists import FeedSpec, load_feed_list
from connectors.feeds.poll import FeedEntries, FeedPoller, poll_policy
from connectors.feeds.state import FeedState, feed_state_turn
from connectors.http import Fetcher
from flows.fetch_tasks import (
    PollFeed,
    ReadFeed,
    fetch_and_extract,
    poll_feed,
    read_feed,
    with_retries,
)
from flows.poll_report import FeedOutcome, PollResult, feed_table, stories_markdown
from newsflow.config import Settings, load_settings
from newsflow.ingest import commit_polled, due_feeds, fetched_before, mark_fetched
from newsflow.outcomes import NOT_FAILURES, Skip, SkipReason
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
    feed_state: FeedState | None = None,
    skip_seen: bool = True,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
    published_as: Callable[[Article], Article] = lambda article: article,
) -> PollResult:
    """Read `feeds` (plus `direct_items`, reported under `direct`), ingest what is new.

    With `feed_state` (opened without autocommit), feeds are polled through a `FeedPoller`,
    articles fetched in an earlier run are skipped, entries that failed transiently are left
    for the next run, and the state is committed once the pipeline processed the run.
    `skip_seen=False` re-ingests items already in the store (a replay must be repeatable);
    `published_as` may restate an article before it is published (see `newsflow.replay`).
    """
    timeout_s = settings.fetch.total_timeout_s
    read = with_retries(read_feed, timeout_s, retry_delay_s)
    poll = with_retries(poll_feed, timeout_s, retry_delay_s)
    fetch = with_retries(fetch_and_extract, timeout_s, retry_delay_s)
    # Task runs in flight; the fetcher itself holds requests to its global and per-host limits.
    slots = asyncio.Semaphore(settings.fetch.concurrency)

    async def limited(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    async with Fetcher(settings.fetch) as fetcher:
        poller = (
            FeedPoller(fetcher, feed_state, poll_policy(settings.fetch))
            if feed_state is not None
            else None
        )
        listings = await asyncio.gather(
            *(limited(listing) for listing in _listings(read, poll, fetcher, poller, feeds))
        )
        outcomes = [FeedOutcome(url=spec.url, name=spec.name) for spec in feeds]
        work = [
            (outcome, item)
            for outcome, listing in zip(outcomes, listings, strict=True)
            for item in _listed(outcome, listing)
        ]
        if direct is not None:
            outcomes.append(direct)
            direct.listed += len(direct_items)
            work += [(direct, item) for item in direct_items]
        fresh = _new_items(pipeline, work, skip_seen, feed_state)
        articles = await asyncio.gather(
            *(limited(_or_skip(item.url, fetch(fetcher, item))) for _, item in fresh)
        )
    published: list[str] = []
    failed: dict[int, Skip] = {}
    for (outcome, item), article in zip(fresh, articles, strict=True):
        if isinstance(article, Skip):
            outcome.item_skips.append(article)
            failed[id(item)] = article
            continue
        if poller is not None:
            mark_fetched(poller, item, article)
        article = published_as(article)
        pipeline.publish(article)
        published.append(article.id)
        outcome.articles += 1
    if poller is not None:
        commit_polled(poller, [r for r in listings if isinstance(r, FeedEntries)], failed)
    result = _settle(settings, pipeline, PollResult(feeds=outcomes, published=published))
    if feed_state is not None:
        feed_state.commit()  # only now: the run's articles went through the pipeline
    return result


Listing = list[SourceItem] | FeedEntries | Skip


def _listings(
    read: ReadFeed,
    poll: PollFeed,
    fetcher: Fetcher,
    poller: FeedPoller | None,
    feeds: Sequence[FeedSpec],
) -> list[Awaitable[Listing]]:
    """One awaitable per feed: polled with its state when there is a poller and it is a
    feed (a not-due skip if it was polled recently), else read plainly."""
    stateful = [spec for spec in feeds if poller is not None and spec.kind == "feed"]
    not_due = {skip.url: skip for skip in due_feeds(poller, stateful)[1]} if poller else {}

    async def listing(spec: FeedSpec) -> Listing:
        if spec.url in not_due:
            return not_due[spec.url]
        if poller is not None and spec in stateful:
            return await _or_skip(spec.url, poll(poller, spec))
        return await _or_skip(spec.url, read(fetcher, spec))

    return [listing(spec) for spec in feeds]


def _listed(outcome: FeedOutcome, listing: Listing) -> list[SourceItem]:
    """Record in `outcome` how its feed was read; return the items still to consider."""
    if isinstance(listing, FeedEntries):
        if listing.skip is not None:
            return _listed(outcome, listing.skip)
        outcome.listed += len(listing.entries)
        outcome.seen_before += len(listing.entries) - len(listing.new)  # in an earlier poll
        return listing.new
    if isinstance(listing, Skip):
        if listing.reason in NOT_FAILURES:
            outcome.not_read = listing
        else:
            outcome.error = listing
        return []
    outcome.listed += len(listing)
    return listing


async def _or_skip(url: str, call: Awaitable[T]) -> T | Skip:
    """The task's result, or the `Skip` its last failure stands for (retries are spent)."""
    try:
        return await call
    except Exception as exc:  # report it, do not crash the run
        return _final_skip(url, exc)


def _final_skip(url: str, exc: Exception) -> Skip:
    skip = getattr(exc, "skip", None)
    if isinstance(skip, Skip):
        return skip
    if isinstance(exc, TimeoutError):
        return Skip(url, SkipReason.TIMEOUT, "task timed out")
    raise exc


def _new_items(
    pipeline: Pipeline,
    work: list[tuple[FeedOutcome, SourceItem]],
    skip_seen: bool,
    feed_state: FeedState | None,
) -> list[tuple[FeedOutcome, SourceItem]]:
    """Drop items listed twice in this run and, with `skip_seen`, those already stored;
    with `feed_state`, also those fetched as articles in an earlier run."""
    ids: dict[str, tuple[FeedOutcome, SourceItem]] = {}
    for outcome, item in work:
        try:
            key = article_id(canonicalize(item.url))
        except ValueError as exc:
            outcome.item_skips.append(Skip(item.url, SkipReason.INVALID_URL, str(exc)))
            continue
        if key in ids:
            outcome.seen_before += 1
        else:
            ids[key] = (outcome, item)
    known = {stored.id for stored in pipeline.store.get_articles(list(ids))} if skip_seen else set()
    if feed_state is not None:
        fetched = fetched_before(feed_state, (item for _, item in ids.values()))
        known |= {article_id(url) for url in fetched}
    for key in known & ids.keys():
        outcome, _ = ids.pop(key)
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
    async with feed_state_turn(settings.data_dir) as feed_state:
        with Pipeline(settings) as pipeline:
            result = await poll_sources(
                settings, pipeline, feeds=specs, feed_state=feed_state, retry_delay_s=retry_delay_s
            )
    await publish_artifacts(f"poll-feeds-{group}", f"poll-feeds, group {group}", result)
    get_run_logger().info(
        "%d feed(s), %d new article(s), %d story(ies) touched",
        len(result.feeds),
        len(result.published),
        len(result.stories),
    )
    return result

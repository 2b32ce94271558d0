"""The polling tasks: read one feed (plainly, or with its feed state), fetch one article.

Each task ends one of three ways: a result; a `Skip` for a failure that trying again will
not fix (404, not a feed, no article text); or `TransientFetchError` for one that might
(timeouts, refused connections, HTTP 5xx and 429), which Prefect retries with exponential
backoff. Task runs share the flow's event loop and its one `Fetcher`, so the fetcher's
process-wide limit and per-host limits hold across all of them.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.feeds.lists import FeedSpec
from connectors.feeds.parse import FeedError
from connectors.feeds.poll import FeedEntries, FeedPoller, is_transient
from connectors.http import Fetcher, FetchError
from newsflow.ingest import fetch_article, read_source
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from schemas import Article

P = ParamSpec("P")
R = TypeVar("R")

RETRIES = 2
RETRY_JITTER_FACTOR = 0.5


class TransientFetchError(Exception):
    """A fetch that failed in a way worth retrying; carries the skip to report if it stays."""

    def __init__(self, skip: Skip) -> None:
        self.skip = skip
        super().__init__(str(skip))


def _retry_only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry transient fetch failures and task timeouts only."""
    return isinstance(state.data, TransientFetchError | TimeoutError)


def _raise_if_transient(skip: Skip) -> Skip:
    if is_transient(skip):
        raise TransientFetchError(skip)
    return skip


@task(name="read-feed", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def read_feed(fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
    """The items a feed (or URL list) lists now, or why it could not be read."""
    try:
        return await read_source(fetcher, spec)
    except FetchError as exc:
        return _raise_if_transient(exc.as_skip())
    except FeedError as exc:
        return Skip(spec.url, SkipReason.FEED_PARSE_ERROR, str(exc))


@task(name="poll-feed", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def poll_feed(poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
    """A due feed read with its stored state: its entries not seen in an earlier poll, or in
    `skip` why there are none (not modified, same body, or a failure that will not heal).

    Nothing is marked seen here: the flow commits the feed once its entries are handled.
    """
    read = await poller.new_entries(spec.url, source=spec.name)
    if read.skip is not None:
        _raise_if_transient(read.skip)
    return read


@task(name="fetch-article", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def fetch_and_extract(fetcher: Fetcher, item: SourceItem) -> Article | Skip:
    """One listed item as an extracted article, or why it did not become one."""
    outcome = await fetch_article(fetcher, item)
    return _raise_if_transient(outcome) if isinstance(outcome, Skip) else outcome


ReadFeed = Task[[Fetcher, FeedSpec], Coroutine[Any, Any, list[SourceItem] | Skip]]
PollFeed = Task[[FeedPoller, FeedSpec], Coroutine[Any, Any, FeedEntries]]


def with_retries(task_: Task[P, R], timeout_s: float, retry_delay_s: float) -> Task[P, R]:
    """`task_` with the polling retry policy and a per-attempt timeout."""
    return task_.with_options(
        retries=RETRIES,
        retry_delay_seconds=exponential_backoff(backoff_factor=retry_delay_s)(RETRIES),
        retry_jitter_factor=RETRY_JITTER_FACTOR,
        timeout_seconds=timeout_s,
    )

"""The producer's steps as Prefect tasks: read one feed, poll one feed, fetch one article.

`TaskSteps` is the `newsflow.ingest.Steps` the flows pass to the one producer path. Each task
ends one of three ways: a result; a `Skip` for a failure that trying again will not fix (404,
not a feed, no article text); or `TransientFetchError` for one that might (timeouts, refused
connections, HTTP 5xx and 429), which Prefect retries with exponential backoff. When the
retries are spent, the step returns the skip the last failure stands for, so one feed or
article never fails the run. Task runs share the flow's event loop and its one `Fetcher`, so
the fetcher's process-wide and per-host limits hold across all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.feeds.lists import FeedSpec
from connectors.feeds.poll import FeedEntries, FeedPoll, FeedPoller
from connectors.http import Fetcher
from newsflow.ingest import fetch_article, read_source
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from schemas import Article

T = TypeVar("T")

RETRIES = 2
RETRY_JITTER_FACTOR = 0.5
DEFAULT_RETRY_DELAY_S = 10.0  # the first retry's delay; then doubled


class TransientFetchError(Exception):
    """A fetch that failed in a way worth retrying; carries the skip to report if it stays."""

    def __init__(self, skip: Skip) -> None:
        self.skip = skip
        super().__init__(str(skip))


def _retry_only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry transient fetch failures and task timeouts only."""
    return isinstance(state.data, TransientFetchError | TimeoutError)


def _raise_if_transient(skip: Skip) -> Skip:
    if skip.transient:
        raise TransientFetchError(skip)
    return skip


@task(name="read-feed", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def read_feed(fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
    """The items a feed (or URL list) lists now, or why it could not be read."""
    items = await read_source(fetcher, spec)
    return _raise_if_transient(items) if isinstance(items, Skip) else items


@task(name="poll-feed", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def poll_feed(poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
    """A due feed read with its stored state: its entries not seen in an earlier poll, or in
    `skip` why there are none (not modified, same body, or a failure that will not heal).

    Nothing is marked seen here: the producer commits the feed once its entries are handled.
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


class TaskSteps:
    """The producer's steps as Prefect task runs, with retries and a per-attempt timeout."""

    def __init__(self, timeout_s: float, retry_delay_s: float) -> None:
        options: dict[str, Any] = {
            "retries": RETRIES,
            "retry_delay_seconds": exponential_backoff(backoff_factor=retry_delay_s)(RETRIES),
            "retry_jitter_factor": RETRY_JITTER_FACTOR,
            "timeout_seconds": timeout_s,
        }
        self._read = read_feed.with_options(**options)
        self._poll = poll_feed.with_options(**options)
        self._fetch = fetch_and_extract.with_options(**options)

    async def read(self, fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
        return await _or_skip(spec.url, self._read(fetcher, spec))

    async def poll(self, poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
        read = await _or_skip(spec.url, self._poll(poller, spec))
        if isinstance(read, Skip):
            return FeedEntries(FeedPoll(spec.url, skip=read), skip=read)
        return read

    async def fetch(self, fetcher: Fetcher, item: SourceItem) -> Article | Skip:
        return await _or_skip(item.url, self._fetch(fetcher, item))


async def _or_skip(url: str, call: Awaitable[T]) -> T | Skip:
    """The task's result, or the `Skip` its last failure stands for (retries are spent)."""
    try:
        return await call
    except TransientFetchError as exc:
        return exc.skip
    except TimeoutError:
        return Skip(url, SkipReason.TIMEOUT, "task timed out", transient=True)

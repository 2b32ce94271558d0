"""The polling tasks: read one feed, fetch and extract one article.

Each task ends one of three ways: a result; a `Skip` for a failure that trying again will
not fix (404, not a feed, no article text); or `TransientFetchError` for one that might
(timeouts, refused connections, HTTP 5xx and 429), which Prefect retries with exponential
backoff. Task runs share the flow's event loop and its one `Fetcher`, so the fetcher's
process-wide limit and per-host limits hold across all of them.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.feedlist import FeedSpec
from connectors.feeds import FeedError
from connectors.http import Fetcher, FetchError
from newsflow.ingest import fetch_article, read_source
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from schemas import Article

P = ParamSpec("P")
R = TypeVar("R")

RETRIES = 2
RETRY_JITTER_FACTOR = 0.5

_TRANSIENT_REASONS = frozenset({SkipReason.TIMEOUT, SkipReason.CONNECT_ERROR})
_RETRYABLE_STATUS = re.compile(r"HTTP (5\d\d|429)\b")


class TransientFetchError(Exception):
    """A fetch that failed in a way worth retrying; carries the skip to report if it stays."""

    def __init__(self, skip: Skip) -> None:
        self.skip = skip
        super().__init__(str(skip))


def is_transient(skip: Skip) -> bool:
    """Whether trying again later may succeed: timeouts, failed connects, HTTP 5xx and 429."""
    if skip.reason in _TRANSIENT_REASONS:
        return True
    return skip.reason is SkipReason.HTTP_STATUS and bool(_RETRYABLE_STATUS.match(skip.detail))


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


@task(name="fetch-article", cache_policy=NO_CACHE, retry_condition_fn=_retry_only_transient)
async def fetch_and_extract(fetcher: Fetcher, item: SourceItem) -> Article | Skip:
    """One listed item as an extracted article, or why it did not become one."""
    outcome = await fetch_article(fetcher, item)
    return _raise_if_transient(outcome) if isinstance(outcome, Skip) else outcome


ReadFeed = Task[[Fetcher, FeedSpec], Coroutine[Any, Any, list[SourceItem] | Skip]]
FetchArticle = Task[[Fetcher, SourceItem], Coroutine[Any, Any, Article | Skip]]


def with_retries(task_: Task[P, R], timeout_s: float, retry_delay_s: float) -> Task[P, R]:
    """`task_` with the polling retry policy and a per-attempt timeout."""
    return task_.with_options(
        retries=RETRIES,
        retry_delay_seconds=exponential_backoff(backoff_factor=retry_delay_s)(RETRIES),
        retry_jitter_factor=RETRY_JITTER_FACTOR,
        timeout_seconds=timeout_s,
    )

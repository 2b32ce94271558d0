"""The steps the flows pass to the one producer path: plain calls, transient failures retried.

A flow run polls its whole group in one task run (`flows.poll_feeds`), not one task run per
feed and per article: at 2,000 feeds those task runs made the Prefect server the bottleneck
(docs/decisions.md, "Prefect granularity"). So the retries live here. A step whose result is
a transient skip (timeout, refused connection, HTTP 5xx or 429) is tried again after a
jittered delay that doubles each time, up to `RETRIES` times; then its last skip is the
result, so one feed or article never fails the run. Each attempt is bounded by `timeout_s`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from connectors.feeds.lists import FeedSpec
from connectors.feeds.poll import FeedEntries, FeedPoll, FeedPoller
from connectors.http import Fetcher
from newsflow.ingest import DirectSteps, Steps
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from schemas import Article

T = TypeVar("T")

RETRIES = 2
RETRY_JITTER_FACTOR = 0.5
DEFAULT_RETRY_DELAY_S = 10.0  # the first retry's delay; then doubled


class RetryingSteps:
    """`steps` (by default the plain ones) with transient failures retried, attempts bounded."""

    def __init__(
        self,
        timeout_s: float,
        retry_delay_s: float,
        steps: Steps | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.timeout_s = timeout_s
        self.retry_delay_s = retry_delay_s
        self.steps = steps or DirectSteps()
        self.sleep = sleep

    async def read(self, fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
        return await self._attempts(spec.url, lambda: self.steps.read(fetcher, spec), _no_skip)

    async def poll(self, poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
        read = await self._attempts(
            spec.url, lambda: self.steps.poll(poller, spec), lambda r: r.skip
        )
        if isinstance(read, Skip):  # the last attempt timed out
            return FeedEntries(FeedPoll(spec.url, skip=read), skip=read)
        return read

    async def fetch(self, fetcher: Fetcher, item: SourceItem) -> Article | Skip:
        return await self._attempts(item.url, lambda: self.steps.fetch(fetcher, item), _no_skip)

    def delay_s(self, retry: int) -> float:
        """The wait before the `retry`-th retry (1-based): doubling, with jitter."""
        jitter = 1 + random.uniform(0, RETRY_JITTER_FACTOR)
        return float(self.retry_delay_s * 2.0 ** (retry - 1) * jitter)

    async def _attempts(
        self, url: str, attempt: Callable[[], Awaitable[T]], skip_of: Callable[[T], Skip | None]
    ) -> T | Skip:
        """Call `attempt` until its result is not a transient skip, or the retries are spent."""
        retry = 0
        while True:
            try:
                async with asyncio.timeout(self.timeout_s):
                    result: T | Skip = await attempt()
            except TimeoutError:
                result = Skip(url, SkipReason.TIMEOUT, "step timed out", transient=True)
            skip = result if isinstance(result, Skip) else skip_of(result)
            if skip is None or not skip.transient or retry == RETRIES:
                return result
            retry += 1
            await self.sleep(self.delay_s(retry))


def _no_skip(result: object) -> None:
    return None

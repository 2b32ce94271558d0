"""Per-host concurrency, request spacing and Retry-After, shared by every task of a process.

One `HostLimits` exists per event loop and per (concurrency, rate) pair, so every `Fetcher`
in a process draws from the same per-host budget (asyncio primitives belong to one loop).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class HostBackingOff(Exception):
    """The host asked us (Retry-After) to wait longer than we are willing to."""

    def __init__(self, host: str, wait_s: float) -> None:
        self.host = host
        self.wait_s = wait_s
        super().__init__(f"{host} asked to wait {wait_s:.0f}s more")


MAX_CRAWL_DELAY_S = 30.0


@dataclass
class _HostState:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0
    not_before: float = 0.0
    min_interval: float = 0.0


@dataclass
class HostLimits:
    """At most `concurrency` requests in flight and `rate` request starts per second per host.

    `rate <= 0` means no spacing. `max_wait_s` bounds how long a request waits for a host that
    sent Retry-After; past that it fails at once with `HostBackingOff`.
    """

    concurrency: int
    rate: float
    max_wait_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _hosts: dict[str, _HostState] = field(default_factory=dict)

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self.concurrency))
        return state

    def reserve(self, host: str) -> float:
        """Book the next start slot for `host`; returns how long to wait before starting."""
        state = self._state(host)
        now = self.clock()
        backoff = state.not_before - now
        if backoff > self.max_wait_s:
            raise HostBackingOff(host, backoff)
        start = max(now, state.next_start, state.not_before)
        interval = max(1.0 / self.rate if self.rate > 0 else 0.0, state.min_interval)
        state.next_start = start + interval
        return start - now

    def space_at_least(self, host: str, seconds: float) -> None:
        """Space request starts to `host` by `seconds` or more (robots.txt Crawl-delay).

        Capped at `MAX_CRAWL_DELAY_S`, so a hostile robots.txt cannot park our tasks.
        """
        self._state(host).min_interval = min(seconds, MAX_CRAWL_DELAY_S)

    def back_off(self, host: str, seconds: float) -> None:
        """Hold every request to `host` for `seconds` (from a Retry-After header)."""
        state = self._state(host)
        state.not_before = max(state.not_before, self.clock() + seconds)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Wait for a concurrency slot and the host's next start time, then hold the slot."""
        state = self._state(host)
        async with state.semaphore:
            wait = self.reserve(host)
            if wait > 0:
                await self.sleep(wait)
            yield


_SHARED: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, float, float], HostLimits]
] = weakref.WeakKeyDictionary()


def shared_host_limits(concurrency: int, rate: float, max_wait_s: float) -> HostLimits:
    """The process-wide `HostLimits` of the running event loop for these limits."""
    per_loop = _SHARED.setdefault(asyncio.get_running_loop(), {})
    key = (concurrency, rate, max_wait_s)
    if key not in per_loop:
        per_loop[key] = HostLimits(concurrency, rate, max_wait_s)
    return per_loop[key]

"""robots.txt: fetched once per origin, cached, and asked before every article fetch.

Parsing is protego's (the parser Scrapy uses; it follows RFC 9309 including wildcards and
longest-match precedence). Following RFC 9309: a 4xx robots.txt allows everything, while a
5xx or an unreachable one disallows everything until it is fetched again; failures are
cached for a shorter time than successes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from connectors.http.errors import FetchError
from connectors.http.page import Page
from newsflow.outcomes import SkipReason

FAILURE_TTL_S = 300.0


@dataclass(frozen=True)
class RobotsVerdict:
    """The rules of one origin: parsed rules, or allow/deny-all after a status or failure."""

    rules: Protego | None
    allow_all: bool
    note: str = ""

    def allows(self, url: str, agent: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, agent))

    def crawl_delay_s(self, agent: str) -> float | None:
        delay = self.rules.crawl_delay(agent) if self.rules is not None else None
        return float(delay) if delay else None


@dataclass(frozen=True)
class RobotsAnswer:
    """May we fetch the URL; if not, why; and the site's Crawl-delay for us, if any."""

    allowed: bool
    note: str = ""
    crawl_delay_s: float | None = None


def robots_url(url: str) -> str:
    """The robots.txt URL governing `url`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], "/robots.txt", "", ""))


class RobotsCache:
    """Per-origin robots.txt verdicts with expiry; one fetch per origin at a time."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[Page]],
        agent: str,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._agent = agent
        self._ttl_s = ttl_s
        self._clock = clock
        self._verdicts: dict[str, tuple[float, RobotsVerdict]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def ask(self, url: str) -> RobotsAnswer:
        """Whether our agent may fetch `url` (with a note when not) and its crawl delay.

        Raises the robots.txt fetch's `FetchError` when the site's address is blocked.
        """
        verdict = await self._verdict(robots_url(url))
        allowed = verdict.allows(url, self._agent)
        return RobotsAnswer(
            allowed, "" if allowed else verdict.note, verdict.crawl_delay_s(self._agent)
        )

    async def _verdict(self, location: str) -> RobotsVerdict:
        lock = self._locks.setdefault(location, asyncio.Lock())
        async with lock:
            cached = self._verdicts.get(location)
            if cached and cached[0] > self._clock():
                return cached[1]
            verdict, ttl = await self._load(location)
            self._verdicts[location] = (self._clock() + ttl, verdict)
            return verdict

    async def _load(self, location: str) -> tuple[RobotsVerdict, float]:
        try:
            page = await self._fetch(location)
        except FetchError as exc:
            if exc.reason is SkipReason.BLOCKED_ADDRESS:
                raise  # the page itself is refused for the same reason: say so, do not cache
            if exc.reason is SkipReason.HTTP_STATUS and exc.status and exc.status < 500:
                return RobotsVerdict(None, allow_all=True), self._ttl_s
            note = f"robots.txt unavailable ({exc.reason})"
            return RobotsVerdict(None, allow_all=False, note=note), min(FAILURE_TTL_S, self._ttl_s)
        text = page.content.decode("utf-8", errors="replace")
        rules = Protego.parse(text)
        return RobotsVerdict(rules, allow_all=True, note="disallowed by robots.txt"), self._ttl_s

"""Feed polling policy: when to poll a feed next (pure functions, no clock, no I/O).

A feed's interval moves between a floor and a ceiling with how often it publishes: halved
after a poll that found new items, stretched by half after one that found none. The feed's
own hints (Cache-Control max-age, RSS `<ttl>`, `sy:updatePeriod`) are lower bounds, capped at
the ceiling; a Retry-After is honoured up to a day. Failures back off exponentially from the
floor, and a feed is dead after `dead_after` failures in a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RETRY_AFTER_CAP_S = 24 * 3600.0
SHRINK_ON_NEWS = 0.5
GROW_ON_QUIET = 1.5
HINT_SCAN_BYTES = 64 * 1024

_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)
_UPDATE_PERIOD = re.compile(rb"<sy:updatePeriod>\s*(\w+)\s*</sy:updatePeriod>", re.IGNORECASE)
_UPDATE_FREQUENCY = re.compile(
    rb"<sy:updateFrequency>\s*(\d{1,4})\s*</sy:updateFrequency>", re.IGNORECASE
)
_PERIOD_SECONDS = {
    b"hourly": 3600.0,
    b"daily": 86400.0,
    b"weekly": 7 * 86400.0,
    b"monthly": 30 * 86400.0,
    b"yearly": 365 * 86400.0,
}


@dataclass(frozen=True)
class PollPolicy:
    """The bounds of every feed's polling interval, in seconds."""

    floor_s: float
    ceiling_s: float
    dead_after: int

    def clamp(self, seconds: float) -> float:
        return min(self.ceiling_s, max(self.floor_s, seconds))

    def after_success(self, interval_s: float, new_items: int, hint_s: float | None) -> float:
        """The next interval after a successful poll that found `new_items` new entries."""
        factor = SHRINK_ON_NEWS if new_items > 0 else GROW_ON_QUIET
        interval = self.clamp(interval_s * factor)
        if hint_s is not None:
            interval = max(interval, min(hint_s, self.ceiling_s))
        return interval

    def after_failure(self, failures: int, retry_after_s: float | None) -> float:
        """The wait after the `failures`-th failure in a row: floor x 2^(failures-1)."""
        backoff = self.clamp(self.floor_s * 2.0 ** max(0, min(failures - 1, 30)))
        if retry_after_s is not None:
            backoff = max(backoff, min(retry_after_s, RETRY_AFTER_CAP_S))
        return backoff

    def is_dead(self, failures: int) -> bool:
        return failures >= self.dead_after


def feed_hint_s(body: bytes) -> float | None:
    """The shortest interval a feed asks for itself: `<ttl>` minutes or sy:updatePeriod.

    Only the head of the document is scanned; both elements live in the channel header.
    """
    head = body[:HINT_SCAN_BYTES]
    hints = []
    ttl = _TTL.search(head)
    if ttl:
        hints.append(int(ttl.group(1)) * 60.0)
    period = _UPDATE_PERIOD.search(head)
    if period and period.group(1).lower() in _PERIOD_SECONDS:
        frequency = _UPDATE_FREQUENCY.search(head)
        times = max(1, int(frequency.group(1))) if frequency else 1
        hints.append(_PERIOD_SECONDS[period.group(1).lower()] / times)
    return max(hints) if hints else None


def combine_hints(*hints: float | None) -> float | None:
    """The largest of the hints present (each is a lower bound on the interval)."""
    present = [hint for hint in hints if hint is not None]
    return max(present) if present else None

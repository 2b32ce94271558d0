"""Retries with exponential backoff within one bounded time budget."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.search.backend import (
    SearchBackend,
    SearchStoreError,
    SearchUnavailable,
    ServerError,
)

T = TypeVar("T")
log = logging.getLogger("newsflow.search")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying, and how the pause between attempts grows."""

    max_elapsed_s: float = 120.0
    first_delay_s: float = 0.25
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        """Pause before retry number `attempt` (0-based): doubling, capped, jittered."""
        ceiling = min(self.max_delay_s, self.first_delay_s * 2.0**attempt)
        jitter: float = random.uniform(0.5, 1.0)
        return ceiling * jitter


class RetryBudget:
    """The attempts of one store operation; every request of the operation shares the budget.

    Transient failures (no response, 429, 5xx) are retried until `max_elapsed_s` has passed,
    then `SearchUnavailable` is raised, so the caller (a bus consumer) does not commit.
    Other server errors raise `SearchStoreError` at once.
    """

    def __init__(self, backend: SearchBackend, policy: RetryPolicy, operation: str) -> None:
        self.backend = backend
        self.policy = policy
        self.operation = operation
        self.started = time.monotonic()
        self.attempt = 0

    def call(self, request: Callable[[Any], T]) -> T:
        """Run `request(client)`, retrying transient failures within the budget."""
        while True:
            try:
                return request(self.backend.client)
            except Exception as exc:
                error = self.backend.classify(exc)
                if error is None:
                    raise
                if not error.transient:
                    message = self.backend.scrub(f"{self.operation}: {error}")
                    raise SearchStoreError(message, error) from None
                self.back_off(error)

    def back_off(self, error: ServerError) -> None:
        """Sleep before the next attempt, or raise `SearchUnavailable` when out of time."""
        elapsed = time.monotonic() - self.started
        delay = self.policy.delay(self.attempt)
        self.attempt += 1
        where = f"{self.backend.name} at {self.backend.url}"
        if elapsed + delay > self.policy.max_elapsed_s:
            message = (
                f"{self.operation}: {where} still failing after {elapsed:.1f} s and "
                f"{self.attempt} attempts: {error}"
            )
            raise SearchUnavailable(self.backend.scrub(message)) from None
        log.warning(
            "%s",
            self.backend.scrub(
                f"{self.operation}: {where} failed ({error}); retry {self.attempt} in {delay:.2f} s"
            ),
        )
        time.sleep(delay)

"""The long-running consumer service: poll a batch, hand it to a stage, commit, repeat.

Generic over `newsflow.bus.BusConsumer`, so it drives the in-process bus and Kafka alike.
Offsets are committed only after the handler returned, i.e. after its downstream write
succeeded (at-least-once). A handler that raises gets the same batch again, with backoff,
until it succeeds or the service is asked to stop; uncommitted messages are then redelivered
to whichever member owns their partitions next. SIGTERM and SIGINT finish the batch in hand,
commit it and close the consumer.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol, runtime_checkable

from newsflow.bus import BusConsumer, Message

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Message]], None]


@runtime_checkable
class ReportsLag(Protocol):
    """A consumer that knows how far behind the end of its partitions it is."""

    def lag(self) -> dict[tuple[str, int], int]: ...


@dataclass(frozen=True)
class BatchLimits:
    """A batch closes when it holds `max_records` or `max_wait_s` passed since polling began."""

    max_records: int = 500
    max_wait_s: float = 1.0


@dataclass
class LoopStats:
    """What one consumer loop did; `lag` is the total behind the partition ends."""

    batches: int = 0
    messages: int = 0
    handler_failures: int = 0
    last_poll: int | None = None  # messages the latest poll returned
    lag: int | None = None  # None until the consumer has partitions and knows their ends
    lag_by_partition: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass
class Stage:
    """One consumer and the handler of its messages, run by `run_stages`."""

    name: str
    consumer: BusConsumer
    handler: Handler
    # Handled messages safe to commit now (`newsflow.stages.CommitGate`); None: each batch.
    committable: Callable[[bool], Sequence[Message]] | None = None
    stats: LoopStats = field(default_factory=LoopStats)
    failed_batch: list[Message] = field(default_factory=list)
    consecutive_failures: int = 0
    retry_at: float = 0.0
    reported_at: float = field(default_factory=time.monotonic)


class StopFlag:
    """Set by a signal (or by code) to ask the loop to stop after the batch in hand."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    @contextmanager
    def on_signals(self) -> Iterator[StopFlag]:
        """Set this flag on SIGTERM/SIGINT while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: finishing the current batch", signal.Signals(signum).name)
            self.set()

        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, request_stop) for sig in signals}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def collect_batch(consumer: BusConsumer, limits: BatchLimits, stop: StopFlag) -> list[Message]:
    """Poll until the batch is full, its time window closed, or a stop was requested."""
    deadline = time.monotonic() + limits.max_wait_s
    batch: list[Message] = []
    while len(batch) < limits.max_records and not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        batch.extend(consumer.poll(limits.max_records - len(batch), min(remaining, 0.5)))
    return batch


def drained(stages: Sequence[Stage]) -> bool:
    """Every stage has its partitions, is at their ends, and its last poll came back empty."""
    return all(s.stats.lag == 0 and s.stats.last_poll == 0 for s in stages)


def run_stages(
    stages: Sequence[Stage],
    stop: StopFlag,
    limits: BatchLimits | None = None,
    until: Callable[[], bool] | None = None,
    max_backoff_s: float = 30.0,
    report_every_s: float = 60.0,
) -> None:
    """Run the stages round-robin until `stop` is set or `until()` is true; then close them.

    Each turn gives one stage one batch: poll, handle, commit. Every `report_every_s` each
    stage logs its counts and lag. Closing commits what was processed and leaves the groups.
    """
    limits = limits or BatchLimits()
    try:
        while not stop.is_set() and not (until is not None and until()):
            for stage in stages:
                _turn(stage, stop, limits, max_backoff_s)
                if time.monotonic() - stage.reported_at >= report_every_s:
                    _report(stage)
                if stop.is_set():
                    break
    finally:
        for stage in stages:
            if stage.committable is not None:
                try:
                    stage.consumer.commit(stage.committable(True))
                except Exception:  # what was not committed is delivered again
                    log.exception("stage %s: the last checkpoint or commit failed", stage.name)
            stage.consumer.close()
            _report(stage, "stopped")


def _report(stage: Stage, state: str = "running") -> None:
    stats = stage.stats
    log.info(
        "stage %s %s: %d messages in %d batches, %d handler failures, lag %s",
        stage.name,
        state,
        stats.messages,
        stats.batches,
        stats.handler_failures,
        "unknown" if stats.lag is None else stats.lag,
    )
    stage.reported_at = time.monotonic()


def _turn(stage: Stage, stop: StopFlag, limits: BatchLimits, max_backoff_s: float) -> None:
    if stage.failed_batch:
        if time.monotonic() < stage.retry_at:
            time.sleep(min(0.2, max(0.0, stage.retry_at - time.monotonic())))
            return
        batch = stage.failed_batch
    else:
        batch = collect_batch(stage.consumer, limits, stop)
        stage.stats.last_poll = len(batch)
        _record_lag(stage)
    if not batch:
        return
    try:
        stage.handler(batch)
    except Exception:
        stage.stats.handler_failures += 1
        stage.consecutive_failures += 1
        backoff = min(max_backoff_s, 0.25 * 2 ** min(stage.consecutive_failures, 10))
        log.exception(
            "stage %s failed on a batch of %d; retrying in %.1fs", stage.name, len(batch), backoff
        )
        stage.failed_batch = list(batch)
        stage.retry_at = time.monotonic() + backoff
        return
    stage.failed_batch = []
    stage.consecutive_failures = 0
    stage.stats.batches += 1
    stage.stats.messages += len(batch)
    try:
        stage.consumer.commit(batch if stage.committable is None else stage.committable(False))
    except Exception as exc:  # the offsets stay pending and go out with the next commit
        log.warning("stage %s: commit failed, will retry with the next batch: %s", stage.name, exc)
    log.debug("stage %s: batch of %d done, lag %s", stage.name, len(batch), stage.stats.lag)


def _record_lag(stage: Stage) -> None:
    if isinstance(stage.consumer, ReportsLag):
        by_partition = stage.consumer.lag()
        stage.stats.lag_by_partition = by_partition
        stage.stats.lag = sum(by_partition.values()) if by_partition else None

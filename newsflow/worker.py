"""The one consumer runner: poll a batch, hand it to a stage's handler, commit, repeat.

Every consuming stage runs here, whether in-process until the bus is drained (`newsflow run`,
`replay`, `reprocess`) or as a service until it is stopped (`newsflow serve STAGE`). A
`Worker` is one stage's consumer and handler; this module owns what they all share: batching,
retries with backoff, acknowledgement (commits) and stopping. Dead letters are the handlers'
(`newsflow.stages.Stage`), since only a handler knows that a message cannot be processed.

Generic over `newsflow.bus.BusConsumer`, so it drives the in-process bus and Kafka alike.
Offsets are committed only after the handler returned, i.e. after its downstream write
succeeded (at-least-once), or, for a handler that is a `CommitGate` (the cluster stage),
only the handled messages it releases, and on stopping whatever it releases last. A handler
that raises gets the same batch again, with backoff, until it succeeds or the service is
asked to stop; uncommitted messages are then redelivered to whichever member owns their
partitions next. SIGTERM and SIGINT finish the batch in hand, commit it and close the
consumer. A handler that raises `newsflow.bus.StageBroken` stops the runner.
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

from newsflow.bus import BusConsumer, Message, StageBroken

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Message]], None]


@runtime_checkable
class CommitGate(Protocol):
    """A handler whose batches are not done when `handle` returns (the cluster stage
    publishes a batch once the next one came, and commits at checkpoints). The runner asks it
    what to commit after every batch, on every empty poll and when it stops, and on an empty
    poll first has it `finish` the work in hand. Without it, a handled batch is committed at
    once."""

    def committable(self, closing: bool) -> Sequence[Message]:
        """Handled messages now safe to commit; `closing`: the runner stops, finish the work
        in hand and make all safe."""
        ...

    def finish(self) -> bool:
        """Finish the work in hand (no batch came); whether there was any."""
        ...


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
class WorkerStats:
    """What one worker did; `lag` is the total behind the partition ends."""

    batches: int = 0
    messages: int = 0
    handler_failures: int = 0
    last_poll: int | None = None  # messages the latest poll returned
    lag: int | None = None  # None until the consumer has partitions and knows their ends
    lag_by_partition: dict[tuple[str, int], int] = field(default_factory=dict)
    finishing: bool = False  # its last empty poll had work in hand to finish (or failed to)


@dataclass
class _Retry:
    """A worker's batch in hand after its handler failed, and when to try it again."""

    batch: list[Message] = field(default_factory=list)
    failures: int = 0  # in a row
    at: float = 0.0


@dataclass
class Worker:
    """One stage's consumer and the handler of its messages, run by `run_workers`."""

    name: str
    consumer: BusConsumer
    handler: Handler
    # Says which handled messages are safe to commit (the handler); None: each batch.
    gate: CommitGate | None = None
    stats: WorkerStats = field(default_factory=WorkerStats)
    _retry: _Retry = field(default_factory=_Retry, repr=False)
    _reported_at: float = field(default_factory=time.monotonic, repr=False)

    @property
    def retrying(self) -> bool:
        """True while a failed batch waits to be handled again."""
        return bool(self._retry.batch)


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


def drained(workers: Sequence[Worker]) -> bool:
    """Every worker has its partitions, is at their ends, its last poll came back empty and
    left it nothing to finish."""
    return all(
        w.stats.lag == 0 and w.stats.last_poll == 0 and not w.stats.finishing and not w.retrying
        for w in workers
    )


def run_workers(
    workers: Sequence[Worker],
    stop: StopFlag,
    limits: BatchLimits | None = None,
    until: Callable[[], bool] | None = None,
    max_backoff_s: float = 30.0,
    report_every_s: float = 60.0,
) -> None:
    """Run the workers round-robin until `stop` is set or `until()` is true; then close them.

    Each turn gives one worker one batch: poll, handle, commit. Every `report_every_s` each
    worker logs its counts and lag. Closing commits what was processed and leaves the groups.
    """
    limits = limits or BatchLimits()
    try:
        while not stop.is_set() and not (until is not None and until()):
            for worker in workers:
                _turn(worker, stop, limits, max_backoff_s)
                if time.monotonic() - worker._reported_at >= report_every_s:
                    _report(worker)
                if stop.is_set():
                    break
    finally:
        for worker in workers:
            if worker.gate is not None:
                try:
                    worker.consumer.commit(worker.gate.committable(True))
                except Exception:  # what was not committed is delivered again
                    log.exception("stage %s: the last checkpoint or commit failed", worker.name)
            worker.consumer.close()
            _report(worker, "stopped")


def _report(worker: Worker, state: str = "running") -> None:
    stats = worker.stats
    log.info(
        "stage %s %s: %d messages in %d batches, %d handler failures, lag %s",
        worker.name,
        state,
        stats.messages,
        stats.batches,
        stats.handler_failures,
        "unknown" if stats.lag is None else stats.lag,
    )
    worker._reported_at = time.monotonic()


def _turn(worker: Worker, stop: StopFlag, limits: BatchLimits, max_backoff_s: float) -> None:
    retry = worker._retry
    if retry.batch:
        if time.monotonic() < retry.at:
            time.sleep(min(0.2, max(0.0, retry.at - time.monotonic())))
            return
        batch = retry.batch
    else:
        batch = collect_batch(worker.consumer, limits, stop)
        worker.stats.last_poll = len(batch)
        _record_lag(worker)
    if not batch:
        if worker.gate is not None:  # idle: the work in hand, a checkpoint due by time
            _finish(worker)
            _commit(worker, ())
        return
    worker.stats.finishing = False
    try:
        worker.handler(batch)
    except StageBroken:
        raise
    except Exception:
        worker.stats.handler_failures += 1
        retry.failures += 1
        backoff = min(max_backoff_s, 0.25 * 2 ** min(retry.failures, 10))
        log.exception(
            "stage %s failed on a batch of %d; retrying in %.1fs", worker.name, len(batch), backoff
        )
        retry.batch = list(batch)
        retry.at = time.monotonic() + backoff
        return
    worker._retry = _Retry()
    worker.stats.batches += 1
    worker.stats.messages += len(batch)
    _commit(worker, batch)
    log.debug("stage %s: batch of %d done, lag %s", worker.name, len(batch), worker.stats.lag)


def _finish(worker: Worker) -> None:
    """Have the gate finish its work in hand; a failure is counted and tried again on the
    next empty poll, and meanwhile the worker is not drained."""
    assert worker.gate is not None
    try:
        worker.stats.finishing = worker.gate.finish()
    except StageBroken:
        raise
    except Exception:
        worker.stats.finishing = True
        worker.stats.handler_failures += 1
        log.exception("stage %s could not finish its work in hand; trying again", worker.name)


def _commit(worker: Worker, handled: Sequence[Message]) -> None:
    """Commit `handled`, or, behind a commit gate, whatever the gate releases now."""
    gate = worker.gate
    try:
        worker.consumer.commit(handled if gate is None else gate.committable(False))
    except StageBroken:
        raise
    except Exception as exc:  # the offsets stay pending and go out with a later commit
        log.warning("stage %s: commit failed, will retry with the next batch: %s", worker.name, exc)


def _record_lag(worker: Worker) -> None:
    if isinstance(worker.consumer, ReportsLag):
        by_partition = worker.consumer.lag()
        worker.stats.lag_by_partition = by_partition
        worker.stats.lag = sum(by_partition.values()) if by_partition else None

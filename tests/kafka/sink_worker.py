"""A consumer service for the crash tests: extracted articles -> a SQLite sink keyed by id.

Usage: python sink_worker.py SINK_DB GROUP DELAY_S, with the Kafka settings in
NEWSFLOW_KAFKA_* variables. Each article is written (upsert) and committed to SQLite on its
own, then the worker sleeps DELAY_S, so a kill lands in the middle of a batch. Every write is
also logged in `deliveries`, which shows the redeliveries at-least-once allows.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections.abc import Sequence

from connectors.kafka import KafkaBus
from newsflow.bus import Message, Topics, decode
from newsflow.config import KafkaSettings
from newsflow.worker import BatchLimits, StopFlag, Worker, run_workers
from schemas import Article


def main(sink_path: str, group: str, delay_s: float) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    settings = KafkaSettings()
    sink = sqlite3.connect(sink_path, isolation_level=None)
    sink.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, title TEXT)")
    sink.execute("CREATE TABLE IF NOT EXISTS deliveries (id TEXT)")

    def write(messages: Sequence[Message]) -> None:
        for message in messages:
            article = decode(message, Article)
            row = (article.id, article.title)
            sink.execute("INSERT OR REPLACE INTO articles VALUES (?, ?)", row)
            sink.execute("INSERT INTO deliveries VALUES (?)", (article.id,))
            time.sleep(delay_s)

    bus = KafkaBus(settings)
    consumer = bus.consumer([Topics.from_settings(settings).extracted], group)
    limits = BatchLimits(settings.batch_max_records, settings.batch_max_wait_ms / 1000)
    with StopFlag().on_signals() as stop:
        run_workers([Worker("sink", consumer, write)], stop, limits)
    bus.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))

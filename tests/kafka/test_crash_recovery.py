"""Consumer processes killed or stopped mid-batch: nothing lost, nothing doubled in the sink."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.kafka import KafkaBus
from connectors.kafka.offsets import group_lag
from newsflow.bus import Topics, encode
from newsflow.config import KafkaSettings
from tests.kafka.services import REPO, kafka_env

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("sink_worker.py")


def start_worker(settings: KafkaSettings, sink: Path, group: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO), **kafka_env(settings))
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(sink), group, "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def count(sink: Path, table: str) -> int:
    if not sink.exists():
        return 0
    with sqlite3.connect(sink) as db:
        try:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:  # table not created yet
            return 0


def wait_for(condition, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def publish_articles(settings: KafkaSettings, articles) -> None:
    bus = KafkaBus(settings)
    for article in articles:
        bus.publish(Topics.from_settings(settings).extracted, article.id, encode(article))
    bus.close()


def committed_total(settings: KafkaSettings, group: str) -> int:
    topic = Topics.from_settings(settings).extracted
    return sum(row.committed or 0 for row in group_lag(settings, group, [topic]))


def test_sigkill_mid_batch_then_restart_delivers_every_article_once(
    broker, settings_factory, article_factory, tmp_path
):
    settings = settings_factory(broker.bootstrap, batch_max_records=10)
    articles = [article_factory(n) for n in range(60)]
    publish_articles(settings, articles)
    sink = tmp_path / "sink.db"

    first = start_worker(settings, sink, "sink")
    try:
        wait_for(lambda: count(sink, "articles") >= 15, "the first batches")
        first.send_signal(signal.SIGKILL)  # row 15 of 60, in the middle of a batch of 10
        first.wait(timeout=10)
    finally:
        first.kill()
    written_before_restart = count(sink, "articles")
    assert written_before_restart < len(articles)

    second = start_worker(settings, sink, "sink")
    try:
        wait_for(lambda: count(sink, "articles") == len(articles), "every article")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        second.kill()

    with sqlite3.connect(sink) as db:
        ids = sorted(row[0] for row in db.execute("SELECT id FROM articles"))
    assert ids == sorted(a.id for a in articles)
    # The killed batch was redelivered (at-least-once) and overwrote its earlier copies.
    assert count(sink, "deliveries") > len(articles)
    assert committed_total(settings, "sink") == len(articles)


def test_sigterm_finishes_and_commits_the_batch_in_hand(
    broker, settings_factory, article_factory, tmp_path
):
    settings = settings_factory(broker.bootstrap, batch_max_records=10)
    publish_articles(settings, [article_factory(n) for n in range(40)])
    sink = tmp_path / "sink.db"

    worker = start_worker(settings, sink, "sink")
    try:
        wait_for(lambda: count(sink, "articles") >= 5, "the first batch")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        worker.kill()

    processed = count(sink, "articles")
    assert 5 <= processed < 40  # the batch in hand was finished, the rest left
    assert count(sink, "deliveries") == processed
    assert committed_total(settings, "sink") == processed

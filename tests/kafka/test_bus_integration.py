"""The Kafka bus against a real Tansu broker: round trip, dead letters, failures, offsets."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer

from connectors.kafka import BusUnavailable, DeliveryFailed, KafkaBus
from connectors.kafka.consumer import KafkaBusConsumer
from connectors.kafka.offsets import group_lag, rewind_group
from connectors.kafka.topics import ensure_topics
from newsflow.bus import Message, PoisonMessage, Topics, dead_letter, decode, encode
from newsflow.worker import BatchLimits, StopFlag, Worker, drained, run_workers
from schemas import Article, Story

pytestmark = pytest.mark.integration


def test_topics_are_created_once_with_the_configured_partitions(kafka_settings):
    created = ensure_topics(kafka_settings)
    topics = Topics.from_settings(kafka_settings)
    state = kafka_settings.topic_cluster_state
    assert sorted(created) == sorted(
        [topics.extracted, topics.clustered, topics.stories, topics.dead_letter, state]
    )
    assert ensure_topics(kafka_settings) == []
    client = KafkaConsumer(bootstrap_servers=kafka_settings.bootstrap)
    try:
        assert client.partitions_for_topic(topics.stories) == {0, 1, 2}
        assert client.partitions_for_topic(state) == {0, 1}  # manifests, chunks
    finally:
        client.close()


def test_articles_travel_through_every_topic(kafka_settings, article_factory):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    articles = [article_factory(n) for n in range(20)]
    for article in articles:
        bus.publish(
            topics.extracted,
            article.id,
            encode(article),
            {"newsflow.stage": "extract", "newsflow.trace": f"feed:{article.source}"},
        )
    bus.flush()

    def cluster(messages: Sequence[Message]) -> None:
        for message in messages:
            article = decode(message, Article)
            story_id = article.id[:16]
            clustered = article.model_copy(update={"story_id": story_id})
            trace = dict(message.headers) | {"newsflow.stage": "cluster"}
            bus.publish(topics.clustered, article.id, encode(clustered), trace)
            story = Story(
                id=story_id,
                headline=article.title,
                first_seen=article.fetched_at,
                last_seen=article.fetched_at,
                article_count=1,
            )
            bus.publish(topics.stories, story.id, encode(story), {"newsflow.stage": "cluster"})
        bus.flush()

    indexed: dict[str, tuple[Article, dict[str, str]]] = {}
    stories: dict[str, Story] = {}

    def index(messages: Sequence[Message]) -> None:
        for message in messages:
            if message.topic == topics.stories:
                story = decode(message, Story)
                stories[story.id] = story
            else:
                article = decode(message, Article)
                indexed[article.id] = (article, dict(message.headers))

    stop = StopFlag()
    run_workers(
        [
            Worker("cluster", bus.consumer([topics.extracted], "cluster"), cluster),
            Worker("index", bus.consumer([topics.clustered, topics.stories], "index"), index),
        ],
        stop,
        BatchLimits(max_records=8, max_wait_s=0.3),
        until=lambda: len(indexed) == len(articles) and len(stories) == len(articles),
    )
    bus.close()

    assert set(indexed) == {a.id for a in articles}
    for article in articles:
        received, headers = indexed[article.id]
        assert received == article.model_copy(update={"story_id": article.id[:16]})
        assert headers == {"newsflow.stage": "cluster", "newsflow.trace": "feed:Example News"}
    assert bus.stats.failed == 0
    assert bus.stats.delivered == 3 * len(articles)


def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_stage_moves_on(
    kafka_settings, article_factory, consume_messages
):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    good = article_factory(1)
    bus.publish(topics.extracted, "bad", b'{"id": "not hex", "title": 3}', {"newsflow.stage": "x"})
    bus.publish(topics.extracted, good.id, encode(good))
    bus.flush()

    handled: list[Article] = []

    def handler(messages: Sequence[Message]) -> None:
        for message in messages:
            try:
                handled.append(decode(message, Article))
            except PoisonMessage as exc:
                dead_letter(bus, topics, message, str(exc), stage="cluster")
        bus.flush()

    consumer = bus.consumer([topics.extracted], "cluster")
    run_workers([Worker("cluster", consumer, handler)], StopFlag(), until=lambda: bool(handled))

    assert handled == [good]
    [dead] = consume_messages(kafka_settings, [topics.dead_letter], "reader", 1, commit=False)
    assert dead.key == "bad"
    assert dead.value == b'{"id": "not hex", "title": 3}'
    assert dead.headers["dlq.source.topic"] == topics.extracted
    assert dead.headers["dlq.stage"] == "cluster"
    assert dead.headers["newsflow.stage"] == "x"
    assert "not a valid Article" in dead.headers["dlq.reason"]
    assert int(dead.headers["dlq.source.offset"]) >= 0
    assert 0 <= int(dead.headers["dlq.source.partition"]) < kafka_settings.partitions
    lag = group_lag(kafka_settings, "cluster", [topics.extracted])
    assert sum(row.committed or 0 for row in lag) == 2  # both messages committed


def test_a_producer_without_a_broker_fails_visibly(settings_factory, unused_bootstrap):
    settings = settings_factory(unused_bootstrap, connect_timeout_ms=1500)
    with pytest.raises(BusUnavailable, match="no Kafka broker reachable"):
        KafkaBus(settings)


def test_flush_raises_when_the_broker_goes_away(own_broker, settings_factory):
    own_broker.start()
    settings = settings_factory(
        own_broker.bootstrap, delivery_timeout_ms=3000, request_timeout_ms=2000, linger_ms=50
    )
    bus = KafkaBus(settings)
    topics = Topics.from_settings(settings)
    bus.publish(topics.extracted, "a", b"{}")
    bus.flush()
    own_broker.stop()
    with pytest.raises((DeliveryFailed, BusUnavailable)):
        for n in range(5):
            bus.publish(topics.extracted, str(n), b"{}")
        bus.flush()
    assert bus.stats.failed >= 1
    assert bus.stats.delivered == 1


def test_a_consumer_started_before_the_broker_waits_and_recovers(
    own_broker, settings_factory, article_factory
):
    settings = settings_factory(own_broker.bootstrap)
    topics = Topics.from_settings(settings)
    received: list[Article] = []
    stop = StopFlag()
    consumer = KafkaBusConsumer(settings, [topics.extracted], "late")
    worker = threading.Thread(
        target=run_workers,
        args=(
            [Worker("late", consumer, lambda ms: received.extend(decode(m, Article) for m in ms))],
            stop,
        ),
        kwargs={"until": lambda: len(received) == 3},
    )
    worker.start()
    try:
        time.sleep(2)  # the consumer polls a broker that is not there yet
        assert not consumer.connected
        own_broker.start()
        bus = KafkaBus(settings)
        for n in range(3):
            bus.publish(topics.extracted, str(n), encode(article_factory(n)))
        bus.close()
        worker.join(timeout=90)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert sorted(a.title for a in received) == ["Story 0", "Story 1", "Story 2"]


def test_lag_and_rewind(kafka_settings, article_factory, consume_messages):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    group = "index"
    before = int(datetime.now(UTC).timestamp() * 1000)
    # One record per produce request: Tansu reports a partition's end offset as the base
    # offset of its last batch + 1, so multi-record batches would under-count the lag.
    for n in range(6):
        bus.publish(topics.clustered, str(n), encode(article_factory(n)))
        bus.flush()
    assert sum(row.lag for row in group_lag(kafka_settings, group, [topics.clustered])) == 6

    assert len(consume_messages(kafka_settings, [topics.clustered], group, 6, commit=True)) == 6
    rows = group_lag(kafka_settings, group, [topics.clustered])
    assert sum(row.lag for row in rows) == 0
    assert sum(row.committed or 0 for row in rows) == 6

    rewound = rewind_group(kafka_settings, group, [topics.clustered])
    assert set(rewound.values()) == {0}
    assert sum(row.lag for row in group_lag(kafka_settings, group, [topics.clustered])) == 6

    after = int(datetime.now(UTC).timestamp() * 1000) + 60_000
    rewound = rewind_group(kafka_settings, group, [topics.clustered], timestamp_ms=after)
    assert sum(row.lag for row in group_lag(kafka_settings, group, [topics.clustered])) == 0
    rewind_group(kafka_settings, group, [topics.clustered], timestamp_ms=before)
    assert sum(row.lag for row in group_lag(kafka_settings, group, [topics.clustered])) == 6
    bus.close()


def test_a_failed_downstream_write_is_retried_before_anything_is_committed(
    kafka_settings, article_factory
):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    articles = [article_factory(n) for n in range(5)]
    for article in articles:
        bus.publish(topics.extracted, article.id, encode(article))
    bus.flush()
    group = "index"
    attempts: list[int] = []
    committed_at_failure: list[int | None] = []
    stored: dict[str, Article] = {}

    def flaky_store(messages: Sequence[Message]) -> None:
        attempts.append(len(messages))
        if len(attempts) == 1:
            rows = group_lag(kafka_settings, group, [topics.extracted])
            committed_at_failure.extend(row.committed for row in rows)
            raise ConnectionError("store unavailable")
        for message in messages:
            article = decode(message, Article)
            stored[article.id] = article

    consumer = bus.consumer([topics.extracted], group)
    run_workers(
        [Worker("index", consumer, flaky_store)],
        StopFlag(),
        BatchLimits(max_records=100, max_wait_s=1.0),
        until=lambda: len(stored) == len(articles),
    )
    bus.close()
    assert attempts[0] == attempts[1]  # the same batch came back after the failure
    assert committed_at_failure == [None] * kafka_settings.partitions
    assert set(stored) == {a.id for a in articles}
    rows = group_lag(kafka_settings, group, [topics.extracted])
    assert sum(row.committed or 0 for row in rows) == len(articles)


def test_rewinding_a_group_with_a_live_member_is_refused(kafka_settings, article_factory):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    bus.publish(topics.extracted, "a", encode(article_factory(1)))
    bus.flush()
    group = "cluster"
    member = bus.consumer([topics.extracted], group)
    deadline = time.monotonic() + 60
    while not member.poll(10, 0.5) and time.monotonic() < deadline:
        pass  # until the member joined and got its partitions
    try:
        with pytest.raises(RuntimeError, match="stop its consumers first"):
            rewind_group(kafka_settings, group, [topics.extracted])
    finally:
        member.close()
        bus.close()


def test_the_consumer_loop_exposes_its_lag(kafka_settings, article_factory):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    for n in range(6):  # one record per request (Tansu end offsets, see docs/kafka.md)
        bus.publish(topics.extracted, str(n), encode(article_factory(n)))
        bus.flush()
    stage = Worker("cluster", bus.consumer([topics.extracted], "cluster"), lambda batch: None)
    run_workers(
        [stage],
        StopFlag(),
        BatchLimits(max_records=2, max_wait_s=0.5),
        until=lambda: stage.stats.batches == 1,
    )
    bus.close()
    assert stage.stats.messages == 2
    assert stage.stats.lag == 4
    assert sum(stage.stats.lag_by_partition.values()) == 4


def test_a_rewound_group_is_not_drained_before_it_read_everything_again(
    kafka_settings, article_factory, consume_messages
):
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    bus.publish(topics.extracted, "1", encode(article_factory(1)))  # two partitions stay empty
    bus.flush()
    assert len(consume_messages(kafka_settings, [topics.extracted], "g", 1, commit=True)) == 1
    rewind_group(kafka_settings, "g", [topics.extracted])

    stages = [Worker("cluster", bus.consumer([topics.extracted], "g"), lambda batch: None)]
    run_workers(stages, StopFlag(), BatchLimits(2, 0.3), until=lambda: drained(stages))
    bus.close()
    assert stages[0].stats.messages == 1

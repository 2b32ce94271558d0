"""The cluster service on a real broker: checkpoints in Kafka let a new instance with an empty
data directory resume the same stories (the default timeouts: `test_default_timeouts.py`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from benchmarks.cluster_data import as_article
from connectors.kafka import KafkaBus
from connectors.kafka.checkpoints import KafkaCheckpoints
from connectors.kafka.consumer import revocation_commit
from newsflow.bus import Topics, decode, encode
from newsflow.clustering import StoryClusterer
from newsflow.config import KafkaSettings, Settings
from newsflow.stages import document_of
from schemas import Article
from tests.cluster.conftest import event_write_up
from tests.kafka.services import start_service, stop_service

pytestmark = pytest.mark.integration


def clustered_story(settings: KafkaSettings, article: Article, group: str) -> str:
    """The story id the clustered topic gives `article` (waits up to 60 s)."""
    bus = KafkaBus(settings)
    consumer = bus.consumer([Topics.from_settings(settings).clustered], group)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            for message in consumer.poll(100, 0.5):
                clustered = decode(message, Article)
                if clustered.id == article.id and clustered.story_id is not None:
                    return clustered.story_id
        pytest.fail(f"{article.id} was not clustered")
    finally:
        consumer.close()
        bus.close()


def publish(settings: KafkaSettings, articles: list[Article]) -> None:
    bus = KafkaBus(settings)
    for article in articles:
        bus.publish(Topics.from_settings(settings).extracted, article.id, encode(article))
    bus.close()


def test_a_new_instance_with_an_empty_data_dir_resumes_the_stories(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    first, second, later = (
        as_article(event_write_up(name, 7, 17, f"outlet-{name}")) for name in ("a", "b", "c")
    )
    # Grounding: the clusterer puts the later write-up in the story of the first two.
    control = StoryClusterer(Settings().cluster)
    story = [control.add(doc).story_id for doc in map(document_of, (first, second, later))]
    assert story[0] == story[1] == story[2]

    settings = Settings(data_dir=tmp_path / "one", kafka=kafka_settings)
    publish(kafka_settings, [first, second])
    service = start_service(settings, "cluster")
    try:
        existing = clustered_story(kafka_settings, second, "check-1")
    finally:
        assert stop_service(service) == 0  # stopping writes a last checkpoint, then commits
    assert KafkaCheckpoints(kafka_settings).arrivals() == 2
    shutil.rmtree(settings.data_dir)

    elsewhere = Settings(data_dir=tmp_path / "two", kafka=kafka_settings)
    publish(kafka_settings, [later])
    service = start_service(elsewhere, "cluster")
    try:
        joined = clustered_story(kafka_settings, later, "check-2")
    finally:
        assert stop_service(service) == 0
    assert joined == existing
    assert not (tmp_path / "one").exists()
    assert KafkaCheckpoints(kafka_settings).arrivals() == 3


def test_the_revocation_commit_is_found_in_this_kafka_python_or_skipped() -> None:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=[], api_version=(3, 9))  # no connection made
    try:
        assert revocation_commit(consumer) is not None  # the pinned range still has it
    finally:
        consumer.close()

    class Renamed:
        _coordinator = object()

    assert revocation_commit(Renamed()) is None

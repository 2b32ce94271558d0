"""The pipeline's topics: what they should look like, and creating the missing ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from connectors.kafka.client_config import connection_config
from newsflow.bus import Topics
from newsflow.config import KafkaSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    """One topic as newsflow wants it created."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: KafkaSettings) -> list[TopicSpec]:
    """The four pipeline topics and the clusterer's checkpoints; the stories and checkpoint
    topics are log-compacted (latest state of each story, latest checkpoint)."""
    topics = Topics.from_settings(settings)

    def spec(name: str, configs: dict[str, str] | None = None) -> TopicSpec:
        return TopicSpec(name, settings.partitions, settings.replication_factor, configs or {})

    return [
        spec(topics.extracted),
        spec(topics.clustered),
        spec(topics.stories, {"cleanup.policy": "compact"}),
        spec(topics.dead_letter),
        # Partition 0: the manifest of the latest checkpoint; 1: its chunks (see checkpoints.py).
        TopicSpec(
            settings.topic_cluster_state,
            2,
            settings.replication_factor,
            {"cleanup.policy": "compact"},
        ),
    ]


def ensure_topics(settings: KafkaSettings) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = KafkaAdminClient(**_admin_config(settings))
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        created: list[str] = []
        for spec in missing:
            new_topic = NewTopic(
                spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.configs
            )
            try:
                admin.create_topics([new_topic])
            except TopicAlreadyExistsError:
                continue  # another process created it meanwhile
            created.append(spec.name)
            log.info("created topic %s (%d partitions)", spec.name, spec.partitions)
        return created
    finally:
        admin.close()


def _admin_config(settings: KafkaSettings) -> dict[str, object]:
    config = connection_config(settings)
    config["bootstrap_timeout_ms"] = settings.connect_timeout_ms
    return config

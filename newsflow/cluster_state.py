"""Where the cluster stage keeps its checkpoints, from settings: the data directory, and the
checkpoint topic when Kafka is configured (so that the service can move to another machine)."""

from __future__ import annotations

from newsflow.clustering import StoryClusterer
from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    CheckpointStore,
    FileCheckpoints,
    restore,
)
from newsflow.config import Settings

STATE_FILE = "cluster-state"


def checkpoint_stores(settings: Settings) -> list[CheckpointStore]:
    """The file in the data directory, then the Kafka topic when Kafka is configured."""
    stores: list[CheckpointStore] = [FileCheckpoints(settings.data_dir / STATE_FILE)]
    if settings.kafka.bootstrap:
        from connectors.kafka.checkpoints import KafkaCheckpoints

        stores.append(KafkaCheckpoints(settings.kafka))
    return stores


def restored_clusterer(settings: Settings) -> StoryClusterer:
    """The clusterer from the newest checkpoint of any store (empty when there is none)."""
    return restore(checkpoint_stores(settings), settings.cluster)


def checkpointer(settings: Settings, clusterer: StoryClusterer) -> Checkpointer:
    """Checkpoints of `clusterer` to every store, on the settings' interval."""
    return Checkpointer(clusterer, checkpoint_stores(settings), CheckpointPolicy(settings.cluster))

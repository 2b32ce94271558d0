"""Where the cluster stage keeps its checkpoints, from settings: the data directory, and the
checkpoint topic when Kafka is configured (so that the service can move to another machine)."""

from __future__ import annotations

from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    CheckpointStore,
    FileCheckpoints,
)
from newsflow.clustering.process import ClustererProcess
from newsflow.config import Settings

STATE_FILE = "cluster-state"


def checkpoint_stores(settings: Settings) -> list[CheckpointStore]:
    """The file in the data directory, then the Kafka topic when Kafka is configured."""
    stores: list[CheckpointStore] = [FileCheckpoints(settings.data_dir / STATE_FILE)]
    if settings.kafka.bootstrap:
        from connectors.kafka.checkpoints import KafkaCheckpoints

        stores.append(KafkaCheckpoints(settings.kafka))
    return stores


def start_clusterer(settings: Settings) -> ClustererProcess:
    """The clusterer's process, restored from the newest checkpoint of any store (empty when
    there is none); raises `SnapshotError` when that checkpoint is unusable."""
    return ClustererProcess(checkpoint_stores(settings), settings.cluster)


def checkpointer(settings: Settings, clusterer: ClustererProcess) -> Checkpointer:
    """Checkpoints of `clusterer` to every store, on the settings' interval."""
    return Checkpointer(
        clusterer.snapshot, checkpoint_stores(settings), CheckpointPolicy(settings.cluster)
    )

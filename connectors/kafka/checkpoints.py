"""Clusterer checkpoints kept in Kafka, so a new cluster-service instance with an empty disk
resumes the same stories.

The compacted topic `topic_cluster_state` has two partitions. Partition 1 holds a
checkpoint's bytes in chunks keyed `<slot>/<n>`; partition 0 then gets a manifest (key
`manifest`) naming the chunks' offsets, their SHA-256 and the state's arrivals. Checkpoints
alternate between slots 0 and 1, so compaction, which keeps the latest record of each key,
never removes a chunk of the checkpoint the latest manifest names while the next one is being
written; a crash mid-write leaves the previous manifest and its chunks intact. Reading
fetches only the last manifest and the chunks it names.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from connectors.kafka.client_config import consumer_config, producer_config
from connectors.kafka.errors import BusUnavailable
from connectors.kafka.topics import ensure_topics
from newsflow.clustering.snapshot import SnapshotError
from newsflow.config import KafkaSettings

MANIFESTS, CHUNKS = 0, 1  # partitions
CHUNK_BYTES = 512 * 1024  # well under the 1 MiB default message limit of brokers
_MANIFEST_KEY = b"manifest"


@dataclass(frozen=True)
class KafkaCheckpoints:
    """The latest checkpoint in the `topic_cluster_state` topic (a `CheckpointStore`)."""

    settings: KafkaSettings

    def describe(self) -> str:
        return f"topic {self.settings.topic_cluster_state} on {self.settings.bootstrap}"

    def arrivals(self) -> int | None:
        manifest = self._manifest()
        return None if manifest is None else int(manifest["arrivals"])

    def load(self) -> bytes:
        manifest = self._manifest()
        if manifest is None:
            raise SnapshotError(f"no checkpoint in {self.describe()}")
        offsets = [int(offset) for offset in manifest["offsets"]]
        with self._reader(CHUNKS) as (consumer, partition):
            chunks = _read(consumer, partition, set(offsets), self._timeout_s())
        slot = manifest["slot"]
        for number, offset in enumerate(offsets):
            key, _ = chunks.get(offset, (None, b""))
            if key != f"{slot}/{number}".encode():
                raise SnapshotError(f"{self.describe()}: chunk {number} is missing or replaced")
        data = b"".join(chunks[offset][1] for offset in offsets)
        if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
            raise SnapshotError(f"{self.describe()}: the checkpoint does not match its checksum")
        return data

    def save(self, data: bytes, arrivals: int) -> None:
        previous = self._manifest()
        slot = 0 if previous is None else 1 - int(previous["slot"])
        topic = self.settings.topic_cluster_state
        config = producer_config(self.settings) | {
            "compression_type": None,  # encoded arrays barely compress, and it costs time
            "linger_ms": 0,
            "max_request_size": CHUNK_BYTES + 64 * 1024,
        }
        timeout_s = self._timeout_s()
        try:
            producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise BusUnavailable(f"cannot write a checkpoint to {self.describe()}") from exc
        try:
            sent = [
                producer.send(
                    topic,
                    key=f"{slot}/{number}".encode(),
                    value=data[start : start + CHUNK_BYTES],
                    partition=CHUNKS,
                )
                for number, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES))
            ]
            offsets = [future.get(timeout=timeout_s).offset for future in sent]
            manifest = {
                "arrivals": arrivals,
                "slot": slot,
                "offsets": offsets,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            value = json.dumps(manifest).encode()
            future = producer.send(topic, key=_MANIFEST_KEY, value=value, partition=MANIFESTS)
            future.get(timeout=timeout_s)
        finally:
            producer.close(timeout=5)

    def _manifest(self) -> dict[str, Any] | None:
        """The latest manifest, or None when no checkpoint was ever written."""
        with self._reader(MANIFESTS) as (consumer, partition):
            end = consumer.end_offsets([partition])[partition]
            if end == 0:
                return None
            found = _read(consumer, partition, {end - 1}, self._timeout_s())
        key, value = found[end - 1]
        try:
            manifest = json.loads(value)
            if key != _MANIFEST_KEY or not isinstance(manifest, dict):
                raise ValueError("not a manifest")
            int(manifest["arrivals"]), int(manifest["slot"]), list(manifest["offsets"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"{self.describe()}: unreadable checkpoint manifest") from exc
        return manifest

    @contextmanager
    def _reader(self, number: int) -> Iterator[tuple[KafkaConsumer, TopicPartition]]:
        """A consumer outside any group, assigned one partition of the checkpoint topic."""
        try:
            if self.settings.create_topics:
                ensure_topics(self.settings)
            consumer = KafkaConsumer(**consumer_config(self.settings, None))
        except KafkaError as exc:
            raise BusUnavailable(
                f"no Kafka broker reachable: cannot read checkpoints from {self.describe()}"
            ) from exc
        partition = TopicPartition(self.settings.topic_cluster_state, number)
        try:
            consumer.assign([partition])
            yield consumer, partition
        finally:
            consumer.close(autocommit=False)

    def _timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000 + 5


def _read(
    consumer: KafkaConsumer, partition: TopicPartition, offsets: set[int], timeout_s: float
) -> dict[int, tuple[bytes, bytes]]:
    """(key, value) of the records at `offsets`; raises `SnapshotError` if any stays unread."""
    found: dict[int, tuple[bytes, bytes]] = {}
    if not offsets:
        return found
    consumer.seek(partition, min(offsets))
    last, deadline = max(offsets), time.monotonic() + timeout_s
    while len(found) < len(offsets) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                if record.offset in offsets:
                    found[record.offset] = (record.key or b"", record.value or b"")
        if consumer.position(partition) > last:
            break
    if len(found) < len(offsets):
        raise SnapshotError(f"records {sorted(offsets - set(found))[:5]} of {partition} are gone")
    return found

"""Consumer-group offsets: how far behind a group is (lag), and rewinding it (reprocess)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from connectors.kafka.client_config import consumer_config
from connectors.kafka.errors import BusUnavailable
from newsflow.config import KafkaSettings


@dataclass(frozen=True)
class PartitionLag:
    """One partition of a topic read by a group: its committed offset and what is left."""

    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


def lag_of(committed: int | None, beginning: int, end: int) -> int:
    """Messages left to read: from the committed offset (or the start) to the end, never < 0."""
    start = beginning if committed is None else max(committed, beginning)
    return max(0, end - start)


def group_lag(settings: KafkaSettings, group: str, topics: Sequence[str]) -> list[PartitionLag]:
    """The lag of `group` on every partition of `topics`, from the broker's end offsets."""
    with _group_client(settings, group) as client:
        partitions = _partitions(client, topics)
        if not partitions:
            return []
        ends = client.end_offsets(partitions)
        beginnings = client.beginning_offsets(partitions)
        rows = []
        for tp in partitions:
            committed = client.committed(tp)
            rows.append(
                PartitionLag(
                    group,
                    tp.topic,
                    tp.partition,
                    committed,
                    ends[tp],
                    lag_of(committed, beginnings[tp], ends[tp]),
                )
            )
        return rows


def rewind_group(
    settings: KafkaSettings, group: str, topics: Sequence[str], timestamp_ms: int | None = None
) -> dict[tuple[str, int], int]:
    """Set the committed offsets of `group` to the beginning, or to the first message at or
    after `timestamp_ms` (the end when there is none). The group's consumers must be stopped.
    """
    with _group_client(settings, group) as client:
        partitions = _partitions(client, topics)
        if timestamp_ms is None:
            targets = client.beginning_offsets(partitions)
        else:
            ends = client.end_offsets(partitions)
            found = client.offsets_for_times({tp: timestamp_ms for tp in partitions})
            # "None found" is None on Kafka; Tansu answers offset 0 with timestamp -1 instead.
            targets = {
                tp: ends[tp] if hit is None or hit.timestamp < 0 else hit.offset
                for tp, hit in found.items()
            }
        try:
            client.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in targets.items()})
        except KafkaError as exc:
            raise RuntimeError(
                f"cannot rewind group {group} (stop its consumers first): {exc}"
            ) from exc
        return {(tp.topic, tp.partition): offset for tp, offset in targets.items()}


@contextmanager
def _group_client(settings: KafkaSettings, group: str) -> Iterator[KafkaConsumer]:
    """A consumer that reads and writes `group`'s offsets without joining the group."""
    try:
        client = KafkaConsumer(**consumer_config(settings, group))
    except KafkaError as exc:
        raise BusUnavailable(f"no Kafka broker reachable at {settings.bootstrap}") from exc
    try:
        yield client
    finally:
        client.close(autocommit=False)


def _partitions(client: KafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    partitions = []
    for topic in topics:
        for partition in sorted(client.partitions_for_topic(topic) or ()):
            partitions.append(TopicPartition(topic, partition))
    return partitions

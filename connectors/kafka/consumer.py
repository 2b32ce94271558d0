"""`KafkaBusConsumer`: a consumer of a group's offsets with manual, at-least-once commits.

Offsets are committed only when the caller says a batch was processed (after its downstream
write succeeded). Offsets marked processed but not yet committed (a commit that failed during
a rebalance, say) are committed when their partitions are revoked, and on `close`.

Services join their group, so that members share partitions and take over from each other.
The stages a command runs in its own process (`newsflow replay`, `run --once`, `reprocess`)
do not: they assign themselves every partition and start from the group's committed offsets.
Several fresh groups joined from one thread never settle on Tansu: each join completes after
about half the session timeout (23 s at the defaults), usually while the thread is polling
another group's consumer, and the member then has to join again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError

from connectors.kafka.client_config import consumer_config
from connectors.kafka.topics import ensure_topics
from newsflow.bus import Message
from newsflow.config import KafkaSettings

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]
JOIN_WAIT_MS = 10_000  # longest single poll while joining the group


def to_message(record: Any) -> Message:
    """A bus `Message` from a kafka-python `ConsumerRecord`."""
    return Message(
        topic=record.topic,
        key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        value=record.value if record.value is not None else b"",
        headers={
            name: (raw or b"").decode("utf-8", "replace") for name, raw in record.headers or []
        },
        partition=record.partition,
        offset=record.offset,
    )


def next_offsets(messages: Iterable[Message]) -> dict[PartitionKey, int]:
    """The offset to commit per partition: one past the highest processed message."""
    offsets: dict[PartitionKey, int] = {}
    for message in messages:
        key = (message.topic, message.partition)
        offsets[key] = max(offsets.get(key, 0), message.offset + 1)
    return offsets


class KafkaBusConsumer:
    """Reads `topics` as a member of `group`; connects lazily and waits for the broker."""

    def __init__(
        self, settings: KafkaSettings, topics: Sequence[str], group: str, *, join_group: bool = True
    ) -> None:
        self.settings = settings
        self.topics = list(topics)
        self.group = group
        self.join_group = join_group
        self._consumer: KafkaConsumer | None = None
        self._lock = threading.Lock()
        self._uncommitted: dict[PartitionKey, int] = {}
        self._lag: dict[PartitionKey, int] = {}
        self._ends: dict[TopicPartition, int] = {}
        self._ends_fetched_at = float("-inf")
        self._waiting_logged = False

    @property
    def connected(self) -> bool:
        return self._consumer is not None

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to `max_records` messages; empty while the broker is unreachable."""
        consumer = self._connect(timeout_s)
        if consumer is None:
            return []
        timeout_ms = int(timeout_s * 1000)
        if not consumer.assignment():
            # Joining the group: one longer poll, since a join cut short by the poll timeout
            # starts over on the next poll (seen with several consumers in one thread).
            timeout_ms = max(timeout_ms, min(self.settings.session_timeout_ms, JOIN_WAIT_MS))
        batches = consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        messages = [to_message(record) for records in batches.values() for record in records]
        self._update_lag(consumer)
        return messages

    def commit(self, messages: Sequence[Message]) -> None:
        """Commit past `messages`; offsets of partitions lost to a rebalance are dropped."""
        with self._lock:
            for key, offset in next_offsets(messages).items():
                self._uncommitted[key] = max(self._uncommitted.get(key, 0), offset)
            snapshot = dict(self._uncommitted)
        if not snapshot or self._consumer is None:
            return
        try:
            self._consumer.commit(offsets=_commit_request(snapshot))
        except CommitFailedError as exc:
            log.warning("commit rejected after a rebalance; the batch will be redelivered: %s", exc)
            self._forget(snapshot)
            return
        self._forget(snapshot)

    def lag(self) -> dict[PartitionKey, int]:
        """Messages behind the end of each assigned partition, as of the last poll; empty
        while unknown (no partitions yet, or positions not yet fetched)."""
        with self._lock:
            return dict(self._lag)

    def close(self) -> None:
        """Final commit of anything processed, then leave the group."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        with self._lock:
            snapshot = dict(self._uncommitted)
        try:
            if snapshot:
                consumer.commit(offsets=_commit_request(snapshot))
        except KafkaError as exc:
            log.warning("final commit failed; those messages will be redelivered: %s", exc)
        finally:
            consumer.close(autocommit=False)

    def _connect(self, timeout_s: float) -> KafkaConsumer | None:
        if self._consumer is not None:
            return self._consumer
        config = consumer_config(self.settings, self.group)
        config["bootstrap_timeout_ms"] = max(1000, int(timeout_s * 1000))
        try:
            consumer = KafkaConsumer(**config)
        except KafkaError:
            level = logging.DEBUG if self._waiting_logged else logging.WARNING
            log.log(level, "waiting for a Kafka broker at %s", self.settings.bootstrap)
            self._waiting_logged = True
            return None
        try:
            if self.settings.create_topics:
                ensure_topics(self.settings)
            if self.join_group:
                consumer.subscribe(self.topics, listener=_CommitOnRevoke(self, consumer))
            else:
                consumer.assign(_all_partitions(consumer, self.topics))
        except KafkaError as exc:
            log.warning("cannot subscribe yet, will retry: %s", exc)
            consumer.close(autocommit=False)
            return None
        how = "subscribed to" if self.join_group else "reading every partition of"
        log.info("consumer of group %s %s %s", self.group, how, ", ".join(self.topics))
        self._consumer = consumer
        return consumer

    def _forget(self, committed: dict[PartitionKey, int]) -> None:
        with self._lock:
            for key, offset in committed.items():
                if self._uncommitted.get(key) == offset:
                    del self._uncommitted[key]

    def _take_uncommitted(self, partitions: Iterable[TopicPartition]) -> dict[PartitionKey, int]:
        with self._lock:
            wanted = {(tp.topic, tp.partition) for tp in partitions}
            taken = {key: off for key, off in self._uncommitted.items() if key in wanted}
            for key in taken:
                del self._uncommitted[key]
                self._lag.pop(key, None)
            return taken

    def _update_lag(self, consumer: KafkaConsumer) -> None:
        """Lag per assigned partition: its end minus the position. The end is the high-water
        mark of the last fetch, or the end offset the broker gave, whichever is later. The
        broker is asked (at most every second) only while the lag looks like nothing or is
        unknown: a fetch answered before the latest records came would say "drained" too
        early, while during a backlog asking would cost a round trip per second for nothing.
        Empty (unknown) until every assigned partition has an end and a position."""
        assigned = consumer.assignment()
        lag = self._lag_of(consumer, assigned)
        now = time.monotonic()
        if assigned and not any(lag.values()) and now - self._ends_fetched_at >= 1.0:
            try:
                self._ends = consumer.end_offsets(list(assigned), timeout_ms=1000)
                self._ends_fetched_at = now
            except KafkaError as exc:
                log.debug("end offsets unavailable: %s", exc)
            lag = self._lag_of(consumer, assigned)
        with self._lock:
            self._lag = lag

    def _lag_of(
        self, consumer: KafkaConsumer, assigned: Iterable[TopicPartition]
    ) -> dict[PartitionKey, int]:
        lag: dict[PartitionKey, int] = {}
        for tp in assigned:
            ends = [end for end in (consumer.highwater(tp), self._ends.get(tp)) if end is not None]
            try:
                position = consumer.position(tp, timeout_ms=0)
            except KafkaError:
                position = None
            if position is None or not ends:
                return {}
            lag[(tp.topic, tp.partition)] = max(0, max(ends) - position)
        return lag


def revocation_commit(
    consumer: KafkaConsumer,
) -> Callable[[dict[TopicPartition, OffsetAndMetadata]], Awaitable[Any]] | None:
    """The coroutine that commits offsets from a rebalance listener, or None.

    The listener runs on kafka-python's IO loop, where the blocking `commit` is not allowed;
    this is the coroutine `commit` itself runs, a private method of kafka-python 3.0. Should
    a release rename it, the offsets are left uncommitted: their messages are delivered again
    to the partitions' next owner (at-least-once holds; only redeliveries grow)."""
    coordinator = getattr(consumer, "_coordinator", None)
    commit = getattr(coordinator, "_commit_offsets_sync_async", None)
    return commit if callable(commit) else None


class _CommitOnRevoke(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Commits processed offsets of partitions before they move to another member."""

    def __init__(self, owner: KafkaBusConsumer, consumer: KafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        offsets = self._owner._take_uncommitted(revoked)
        if not offsets:
            return
        commit = revocation_commit(self._consumer)
        if commit is None:
            log.warning("cannot commit on revocation here; those messages will be redelivered")
            return
        await commit(_commit_request(offsets))
        log.info("committed %d partition(s) on revocation", len(offsets))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partition(s)", len(assigned))

    async def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        if self._owner._take_uncommitted(lost):
            log.warning("lost partitions before committing; they will be redelivered: %s", lost)


def _all_partitions(consumer: KafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics`; raises `KafkaError` while a topic has none yet."""
    partitions: list[TopicPartition] = []
    for topic in topics:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise KafkaError(f"no partitions known for {topic} yet")
        partitions.extend(TopicPartition(topic, number) for number in sorted(numbers))
    return partitions


def _commit_request(offsets: dict[PartitionKey, int]) -> dict[TopicPartition, OffsetAndMetadata]:
    return {
        TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
        for (topic, partition), offset in offsets.items()
    }

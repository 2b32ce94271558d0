"""The embedded bus: topics as in-process lists, consumer groups as committed positions.

It keeps Kafka's semantics where stages can observe them: records stay on their topic after
being read, each group has its own committed position, and a consumer that did not commit
reads the same records again. Nothing survives the process; that is what Kafka is for.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence

from newsflow.bus import Message


class MemoryBus:
    """A `newsflow.bus.Bus` held in memory, safe to share between threads."""

    def __init__(self) -> None:
        self._topics: dict[str, list[Message]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Condition()

    def publish(
        self, topic: str, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            log = self._topics[topic]
            log.append(Message(topic, key, value, dict(headers or {}), 0, len(log)))
            self._lock.notify_all()

    def flush(self) -> None:
        """Nothing to wait for: a published record is already on its topic."""

    def consumer(
        self, topics: Sequence[str], group: str, *, join_group: bool = True
    ) -> MemoryConsumer:
        """A consumer of `group`; in-process there is no membership, so `join_group` is moot."""
        return MemoryConsumer(self, tuple(topics), group)

    def records(self, topic: str) -> list[Message]:
        """Everything published to `topic` so far (for inspection and tests)."""
        with self._lock:
            return list(self._topics[topic])

    def close(self) -> None:
        """Nothing to release."""


class MemoryConsumer:
    """Reads its topics from the group's committed positions; see `MemoryBus`."""

    def __init__(self, bus: MemoryBus, topics: tuple[str, ...], group: str) -> None:
        self._bus = bus
        self._topics = topics
        self._group = group
        self._position = {topic: bus._committed[(group, topic)] for topic in topics}

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        with self._bus._lock:
            if not self._pending():
                self._bus._lock.wait(timeout_s)
            batch: list[Message] = []
            for topic in self._topics:
                log = self._bus._topics[topic]
                start = self._position[topic]
                taken = log[start : start + max_records - len(batch)]
                self._position[topic] = start + len(taken)
                batch.extend(taken)
            return batch

    def commit(self, messages: Sequence[Message]) -> None:
        with self._bus._lock:
            for message in messages:
                key = (self._group, message.topic)
                self._bus._committed[key] = max(self._bus._committed[key], message.offset + 1)

    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet read, per topic (each topic is one partition here)."""
        with self._bus._lock:
            return {(t, 0): len(self._bus._topics[t]) - self._position[t] for t in self._topics}

    def close(self) -> None:
        """Uncommitted records stay for the group's next consumer, as on Kafka."""

    def _pending(self) -> bool:
        return any(len(self._bus._topics[t]) > self._position[t] for t in self._topics)

"""`KafkaBus`: the pipeline's bus on Kafka (kafka-python producer + group consumers)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from connectors.kafka.client_config import producer_config
from connectors.kafka.consumer import KafkaBusConsumer
from connectors.kafka.errors import BusUnavailable, DeliveryFailed
from connectors.kafka.topics import ensure_topics
from newsflow.config import KafkaSettings

log = logging.getLogger(__name__)


@dataclass
class DeliveryStats:
    """Counts of records the broker acknowledged and records it did not."""

    delivered: int = 0
    failed: int = 0
    first_error: str | None = None


class KafkaBus:
    """Publishes with acks=all, batching and compression; `flush` raises on any lost record."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        config = producer_config(settings)
        try:
            if settings.create_topics:
                ensure_topics(settings)
            self._producer = KafkaProducer(**config)
        except KafkaTimeoutError as exc:
            raise BusUnavailable(
                f"no Kafka broker reachable at {settings.bootstrap} "
                f"within {settings.connect_timeout_ms} ms"
            ) from exc
        self._lock = threading.Lock()
        self.stats = DeliveryStats()  # totals since start, `delivered` updated by `flush`
        self._pending_failures = DeliveryStats()  # since the last flush
        self._queued = 0  # records sent since the last flush

    def publish(
        self, topic: str, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        """Queue one record; raises `BusUnavailable` if it cannot even be queued in time."""
        encoded_headers = [(name, text.encode("utf-8")) for name, text in (headers or {}).items()]
        try:
            future = self._producer.send(
                topic, value=value, key=key.encode("utf-8"), headers=encoded_headers
            )
        except KafkaError as exc:
            with self._lock:
                self.stats.failed += 1
            raise BusUnavailable(f"cannot publish to {topic}: {exc}") from exc
        self._queued += 1
        future.add_errback(self._record_failure)

    def flush(self) -> None:
        """Wait for every queued record; raise `DeliveryFailed` if any was not acknowledged."""
        timeout_s = self.settings.delivery_timeout_ms / 1000 + 5
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise DeliveryFailed(f"records still unacknowledged after {timeout_s:.0f}s") from exc
        with self._lock:
            failures, self._pending_failures = self._pending_failures, DeliveryStats()
            self.stats.delivered += self._queued - failures.failed
            self._queued = 0
        if failures.failed:
            raise DeliveryFailed(
                f"{failures.failed} records were not delivered: {failures.first_error}"
            )

    def consumer(
        self, topics: Sequence[str], group: str, *, join_group: bool = True
    ) -> KafkaBusConsumer:
        """A consumer of `group` for `topics` (see `newsflow.bus.Bus.consumer`); it waits
        for the broker when it is down."""
        return KafkaBusConsumer(self.settings, topics, group, join_group=join_group)

    def close(self) -> None:
        """Flush, then close the producer (raises `DeliveryFailed` like `flush`)."""
        try:
            self.flush()
        finally:
            self._producer.close(timeout=5)

    def _record_failure(self, error: BaseException) -> None:
        with self._lock:
            for stats in (self.stats, self._pending_failures):
                stats.failed += 1
                stats.first_error = stats.first_error or f"{type(error).__name__}: {error}"
            first_since_flush = self._pending_failures.failed == 1
        if first_since_flush:  # one line per flush window, not one per record
            log.warning("record not delivered (more may follow): %s", error)

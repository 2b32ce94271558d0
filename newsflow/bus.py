"""The message bus between pipeline stages, as an interface.

Two implementations plug in here: `connectors.memory_bus.MemoryBus` (embedded, in-process)
and the Kafka bus. Stages only see `Bus` and `BusConsumer`, so swapping the transport is
configuration, never code.

Topic layout (names come from `KafkaSettings`):

- extracted articles, keyed by article id: what the fetch/extract stage produced;
- clustered articles, keyed by article id: the same articles with `story_id` set;
- stories, keyed by story id: the latest state of each story (log-compacted on Kafka);
- dead letter: messages a stage could not process, with the reason in their headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from newsflow.config import KafkaSettings

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Topics:
    """The resolved topic names."""

    extracted: str
    clustered: str
    stories: str
    dead_letter: str

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> Topics:
        return cls(
            extracted=settings.topic_extracted,
            clustered=settings.topic_clustered,
            stories=settings.topic_stories,
            dead_letter=settings.topic_dead_letter,
        )


@dataclass(frozen=True)
class Message:
    """One record read from the bus."""

    topic: str
    key: str | None
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    partition: int = 0
    offset: int = 0


class BusConsumer(Protocol):
    """A member of a consumer group reading some topics."""

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to `max_records` messages, waiting at most `timeout_s` for the first one."""
        ...

    def commit(self, messages: Sequence[Message]) -> None:
        """Mark `messages` (and everything before them on their partitions) as processed."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    """Publishes records to topics and hands out consumers."""

    def publish(
        self, topic: str, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        """Queue one record; delivery is confirmed by `flush`."""
        ...

    def flush(self) -> None:
        """Block until every queued record is delivered; raise if any was not."""
        ...

    def consumer(
        self, topics: Sequence[str], group: str, *, join_group: bool = True
    ) -> BusConsumer:
        """A consumer reading from `group`'s committed offsets and committing to them. With
        `join_group` it is a member of the group (partitions shared among the members);
        without, it reads every partition of `topics` alone, for consumers that run in a
        command's own process next to no other member."""
        ...

    def close(self) -> None: ...


class PoisonMessage(ValueError):
    """A message that cannot be decoded into the model its topic carries."""


class StageBroken(RuntimeError):
    """A stage that can process no message until it is restarted (the cluster stage whose
    clusterer process ended, and its window with it): the runner stops rather than retry,
    so that the service restarts and what was not committed is delivered again."""


def encode(record: BaseModel) -> bytes:
    """Serialise a schema record as a message value."""
    return record.model_dump_json().encode("utf-8")


def decode(message: Message, model: type[ModelT]) -> ModelT:
    """Parse and validate a message value; raise `PoisonMessage` with the reason if invalid."""
    try:
        return model.model_validate_json(message.value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise PoisonMessage(f"not a valid {model.__name__}: {problems}") from exc


def dead_letter(bus: Bus, topics: Topics, message: Message, reason: str, stage: str) -> None:
    """Send an unprocessable message to the dead-letter topic, with where it came from."""
    headers = dict(message.headers)
    headers.update(
        {
            "dlq.reason": reason[:2000],
            "dlq.stage": stage,
            "dlq.source.topic": message.topic,
            "dlq.source.partition": str(message.partition),
            "dlq.source.offset": str(message.offset),
        }
    )
    bus.publish(topics.dead_letter, message.key or "", message.value, headers)

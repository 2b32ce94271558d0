"""The consuming stages of the pipeline: clustering and indexing.

Each stage is a handler over a batch of bus messages. A handler either processes the whole
batch (sending what it cannot decode to the dead-letter topic) or raises; the consume loop
commits a batch only after its handler returned, which gives at-least-once delivery. Writes
downstream are idempotent (upserts by id), so a redelivered batch changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from newsflow.bus import (
    Bus,
    BusConsumer,
    Message,
    PoisonMessage,
    Topics,
    dead_letter,
    decode,
    encode,
)
from newsflow.clustering import Assignment, Document, StoryClusterer, StoryState
from newsflow.clustering.checkpoint import Checkpointer
from newsflow.store import SearchStore
from schemas import Article, Story

log = logging.getLogger(__name__)


class StageHandler(Protocol):
    """Processes one batch of messages; raises if the batch must be delivered again."""

    name: str

    def handle(self, messages: Sequence[Message]) -> None: ...


@runtime_checkable
class CommitGate(Protocol):
    """A handler whose batches may not be committed as soon as they are handled (the cluster
    stage commits at checkpoints). Without it, a handled batch is committed at once."""

    def committable(self, closing: bool) -> Sequence[Message]:
        """Handled messages now safe to commit; `closing`: the runner stops, make all safe."""
        ...


def commit_gate(handler: object) -> Callable[[bool], Sequence[Message]] | None:
    """The `committable` hook of `handler`, if it has one."""
    return handler.committable if isinstance(handler, CommitGate) else None


def article_headers(article: Article, stage: str) -> dict[str, str]:
    """Message headers: the producing stage and where the article came from."""
    headers = {"newsflow.stage": stage, "newsflow.url": article.url}
    if article.feed_url:
        headers["newsflow.feed_url"] = article.feed_url
    return headers


def publish_article(bus: Bus, topic: str, article: Article, stage: str) -> None:
    """Publish an article keyed by its id."""
    bus.publish(topic, article.id, encode(article), article_headers(article, stage))


def story_record(state: StoryState, merged_into: str | None = None) -> Story:
    """The `Story` message for a clusterer's story state."""
    return Story(
        id=state.id,
        headline=state.headline,
        first_seen=state.first_seen,
        last_seen=state.last_seen,
        article_count=state.article_count,
        sources=list(state.sources),
        languages=list(state.languages),
        merged_from=list(state.merged_from),
        merged_into=merged_into,
    )


def document_of(article: Article) -> Document:
    """What the clusterer needs to know of an article."""
    return Document(
        id=article.id,
        title=article.title,
        text=article.text,
        published_at=article.event_time,
        source=article.source,
        url=article.canonical_url,
        language=article.language,
    )


@dataclass
class ClusterStage:
    """Extracted articles in; clustered articles and story updates out.

    With a `checkpointer`, offsets are committable only once a checkpoint of the window
    holds their articles (see `committable`); a batch delivered again after a crash is
    recognised by article id.
    """

    bus: Bus
    topics: Topics
    clusterer: StoryClusterer
    checkpointer: Checkpointer | None = None
    name: str = "cluster"
    _held: dict[tuple[str, int], Message] = field(default_factory=dict, init=False)
    _safe: dict[tuple[str, int], Message] = field(default_factory=dict, init=False)

    def handle(self, messages: Sequence[Message]) -> None:
        for message in messages:
            try:
                article = decode(message, Article)
            except PoisonMessage as exc:
                log.warning("dead-lettering %s@%s: %s", message.topic, message.offset, exc)
                dead_letter(self.bus, self.topics, message, str(exc), self.name)
                continue
            self._publish(article, self.clusterer.add(document_of(article)))
        self.bus.flush()
        for message in messages:  # the latest handled message of each partition
            self._held[(message.topic, message.partition)] = message
        if self.checkpointer is None or self.checkpointer.handled(len(messages)):
            self._release()

    def committable(self, closing: bool) -> list[Message]:
        """The handled messages whose offsets may be committed now (one per partition, the
        latest), each once; `closing` writes a last checkpoint first if any is pending."""
        if closing and self._held and self.checkpointer is not None:
            self.checkpointer.write()
            self._release()
        safe, self._safe = list(self._safe.values()), {}
        return safe

    def _release(self) -> None:
        self._safe.update(self._held)
        self._held.clear()

    def _publish(self, article: Article, assignment: Assignment) -> None:
        clustered = article.model_copy(
            update={"story_id": assignment.story_id, "duplicate_of": assignment.duplicate_of}
        )
        publish_article(self.bus, self.topics.clustered, clustered, self.name)
        for absorbed in assignment.merged:
            self._publish_story(story_record(absorbed, merged_into=assignment.story_id))
        self._publish_story(story_record(assignment.story))

    def _publish_story(self, story: Story) -> None:
        self.bus.publish(
            self.topics.stories, story.id, encode(story), {"newsflow.stage": self.name}
        )


@dataclass
class IndexStage:
    """Clustered articles and story updates in; search-store upserts out.

    Records the store refuses one by one go to the dead-letter topic with the store's
    reason; a store that fails as a whole raises, so nothing is committed.
    """

    bus: Bus
    topics: Topics
    store: SearchStore
    name: str = "index"

    def handle(self, messages: Sequence[Message]) -> None:
        articles: dict[str, tuple[Article, Message]] = {}
        stories: dict[str, tuple[Story, Message]] = {}
        for message in messages:
            try:
                if message.topic == self.topics.stories:
                    story = decode(message, Story)
                    stories[story.id] = (story, message)
                else:
                    article = decode(message, Article)
                    articles[article.id] = (article, message)
            except PoisonMessage as exc:
                dead_letter(self.bus, self.topics, message, str(exc), self.name)
        for report, records in (
            (self.store.upsert_articles([a for a, _ in articles.values()]), articles),
            (self.store.upsert_stories([s for s, _ in stories.values()]), stories),
        ):
            for failure in report.failures:
                _, message = records[failure.record_id]
                dead_letter(self.bus, self.topics, message, failure.reason, self.name)
        self.bus.flush()


def drain(
    consumer: BusConsumer, handler: StageHandler, *, batch_size: int = 500, idle_s: float = 0.2
) -> int:
    """Feed batches to `handler` and commit each, until no message arrives for `idle_s`."""
    handled = 0
    gate = commit_gate(handler)
    while batch := consumer.poll(batch_size, idle_s):
        handler.handle(batch)
        consumer.commit(batch if gate is None else gate(False))
        handled += len(batch)
    if gate is not None:
        consumer.commit(gate(True))
    return handled

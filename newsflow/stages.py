"""The consuming stages of the pipeline: clustering, indexing and the dead-letter log.

Each stage is a handler over a batch of bus messages. A handler either processes the whole
batch (sending what it cannot process to the dead-letter topic, through `Stage.dead_letter`)
or raises; the runner (`newsflow.worker`) commits a batch only after its handler returned,
which gives at-least-once delivery. Writes downstream are idempotent (upserts by id), so a
redelivered batch changes nothing. Which topics each stage reads, and as which group, is
registered once in `newsflow.pipeline.STAGES`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from newsflow.bus import Bus, Message, PoisonMessage, Topics, dead_letter, decode, encode
from newsflow.clustering import Assignment, Document, StoryState
from newsflow.clustering.analysis import Analysed
from newsflow.clustering.checkpoint import Checkpointer
from newsflow.clustering.process import ClustererProcess
from newsflow.store import SearchStore
from schemas import Article, Story

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)


class StageHandler(Protocol):
    """Processes one batch of messages; raises if the batch must be delivered again."""

    name: str

    def handle(self, messages: Sequence[Message]) -> None: ...


@dataclass
class Stage:
    """What every publishing stage shares: its bus, the topics, and the dead-letter route."""

    bus: Bus
    topics: Topics

    name = "stage"

    def dead_letter(self, message: Message, reason: str) -> None:
        """Send a message this stage cannot process to the dead-letter topic, with `reason`."""
        log.warning(
            "stage %s dead-letters %s[%d]@%d: %s",
            self.name,
            message.topic,
            message.partition,
            message.offset,
            reason,
        )
        dead_letter(self.bus, self.topics, message, reason, self.name)

    def decoded(self, message: Message, model: type[ModelT]) -> ModelT | None:
        """The message as `model`, or None once a message that is not one is dead-lettered."""
        try:
            return decode(message, model)
        except PoisonMessage as exc:
            self.dead_letter(message, str(exc))
            return None


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


def _positions(messages: Sequence[Message]) -> list[tuple[str, int, int]]:
    return [(message.topic, message.partition, message.offset) for message in messages]


@dataclass
class _InHand:
    """A batch given to the clusterer: its messages, the articles among them, and, once the
    clusterer is done with it, their assignments."""

    messages: list[Message]
    articles: list[Article]
    assignments: list[Assignment] | None = None


@dataclass
class ClusterStage(Stage):
    """Extracted articles in; clustered articles and story updates out: per batch, one
    record for each story the batch touched, as it stands at the end of the batch (in a
    backfill a story's articles mostly come in one batch, and the index upserts by id).

    The clusterer runs in a process of its own, one batch ahead (`ClustererProcess`):
    `handle` gives it a batch, then publishes what it did with the batch before, so that it
    adds while this process publishes and fetches. The latest batch is published once the
    next one comes, the input is idle (`finish`), or the stage closes; its messages are
    committable only then (this is a `newsflow.worker.CommitGate`).

    With a `checkpointer`, offsets are committable only once a checkpoint of the window
    holds their articles too. A checkpoint begins only with no batch in hand, so that it
    never holds an article whose records are not published; a batch delivered again after a
    crash is recognised by article id.
    """

    clusterer: ClustererProcess
    checkpointer: Checkpointer | None = None
    _in_hand: list[_InHand] = field(default_factory=list, init=False)
    # The latest published message of each partition: not yet in a checkpoint; in
    # checkpoint number N (being written); safe to commit.
    _held: dict[tuple[str, int], Message] = field(default_factory=dict, init=False)
    _in_checkpoint: list[tuple[int, dict[tuple[str, int], Message]]] = field(
        default_factory=list, init=False
    )
    _safe: dict[tuple[str, int], Message] = field(default_factory=dict, init=False)

    name = "cluster"

    def __post_init__(self) -> None:
        # Batches an earlier stage left with this clusterer were neither published nor
        # committed: they are delivered again, and their assignments are not this stage's.
        while self.clusterer.outstanding:
            self.clusterer.take()

    def handle(self, messages: Sequence[Message]) -> None:
        batch = list(messages)
        if not self._in_hand or _positions(self._in_hand[-1].messages) != _positions(batch):
            # (the same batch again, after publishing the one before failed, is with the
            # clusterer already)
            if self.checkpointer is not None and self.checkpointer.due():
                self._publish_in_hand(keep=0)
                self._begin_checkpoint()
            taken = [pair for pair in map(self._analysed, batch) if pair is not None]
            self.clusterer.submit([analysed for _, analysed in taken])
            self._in_hand.append(_InHand(batch, [article for article, _ in taken]))
        self._publish_in_hand(keep=1)

    def _analysed(self, message: Message) -> tuple[Article, Analysed] | None:
        """The message's article and its analysis for the clusterer, or None once a message
        that is no article, or an article that cannot be analysed, is dead-lettered
        (retrying would fail the same way, and stall the stream)."""
        article = self.decoded(message, Article)
        if article is None:
            return None
        try:
            return article, self.clusterer.analyser.analyse(document_of(article))
        except Exception as exc:
            self.dead_letter(message, f"cannot be analysed: {type(exc).__name__}: {exc}")
            return None

    def finish(self) -> bool:
        """Publish the batch in hand (no batch came), then begin a checkpoint if one is due
        by time; whether there was a batch in hand."""
        had_work = bool(self._in_hand)
        self._publish_in_hand(keep=0)
        self._begin_checkpoint()
        return had_work

    def committable(self, closing: bool) -> list[Message]:
        """The published messages whose offsets may be committed now (one per partition,
        the latest), each once: those a checkpoint that every store holds has taken in.
        `closing`: the batch in hand is published, and a last checkpoint written and waited
        for."""
        checkpointer = self.checkpointer
        if closing:
            self._publish_in_hand(keep=0)
        if checkpointer is not None:
            if closing:
                checkpointer.wait()
                unwritten = self._in_checkpoint and self._in_checkpoint[-1][0] > (
                    checkpointer.durable
                )
                if self._held or unwritten:
                    self._checkpointed(checkpointer.write())
            durable = checkpointer.durable
            while self._in_checkpoint and self._in_checkpoint[0][0] <= durable:
                self._safe.update(self._in_checkpoint.pop(0)[1])
        safe, self._safe = list(self._safe.values()), {}
        return safe

    def _publish_in_hand(self, keep: int) -> None:
        """Publish what the clusterer did with each batch in hand, oldest first, but for the
        latest `keep`."""
        while len(self._in_hand) > keep:
            batch = self._in_hand[0]
            if batch.assignments is None:
                batch.assignments = self.clusterer.take()
            self._publish(batch.articles, batch.assignments)
            self._in_hand.pop(0)
            for message in batch.messages:
                self._held[(message.topic, message.partition)] = message
            if self.checkpointer is None:
                self._safe.update(self._held)
                self._held.clear()
            else:
                self.checkpointer.count(len(batch.messages))

    def _begin_checkpoint(self) -> None:
        """Begin a checkpoint if one is due and no batch is in hand; it holds every message
        held so far."""
        if self.checkpointer is not None and not self._in_hand:
            self._checkpointed(self.checkpointer.begin_if_due())

    def _publish(self, articles: list[Article], assignments: list[Assignment]) -> None:
        """Each article under its story, then each story touched as it stands at the end."""
        stories: dict[str, Story] = {}  # the latest record of each story the batch touched
        for article, assignment in zip(articles, assignments, strict=True):
            self._publish_article(article, assignment)
            for absorbed in assignment.merged:
                stories[absorbed.id] = story_record(absorbed, merged_into=assignment.story_id)
            stories[assignment.story_id] = story_record(assignment.story)
        for story in stories.values():
            self.bus.publish(
                self.topics.stories, story.id, encode(story), {"newsflow.stage": self.name}
            )
        self.bus.flush()

    def _checkpointed(self, number: int | None) -> None:
        """Checkpoint `number` (if one began) holds the messages held so far."""
        if number is not None and self._held:
            self._in_checkpoint.append((number, self._held))
            self._held = {}

    def _publish_article(self, article: Article, assignment: Assignment) -> None:
        clustered = article.model_copy(
            update={"story_id": assignment.story_id, "duplicate_of": assignment.duplicate_of}
        )
        publish_article(self.bus, self.topics.clustered, clustered, self.name)


@dataclass
class IndexStage(Stage):
    """Clustered articles and story updates in; search-store upserts out.

    Records the store refuses one by one go to the dead-letter topic with the store's
    reason; a store that fails as a whole raises, so nothing is committed.
    """

    store: SearchStore

    name = "index"

    def handle(self, messages: Sequence[Message]) -> None:
        articles: dict[str, tuple[Article, Message]] = {}
        stories: dict[str, tuple[Story, Message]] = {}
        for message in messages:
            if message.topic == self.topics.stories:
                if story := self.decoded(message, Story):
                    stories[story.id] = (story, message)
            elif article := self.decoded(message, Article):
                articles[article.id] = (article, message)
        for report, records in (
            (self.store.upsert_articles([a for a, _ in articles.values()]), articles),
            (self.store.upsert_stories([s for s, _ in stories.values()]), stories),
        ):
            for failure in report.failures:
                _, message = records[failure.record_id]
                self.dead_letter(message, failure.reason)
        self.bus.flush()


@dataclass
class DeadLetterLog:
    """Appends dead-lettered messages to a JSON-lines file: the embedded failure log."""

    path: Path

    name = "dead-letter-log"

    def handle(self, messages: Sequence[Message]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log_file:
            for message in messages:
                record = {
                    "key": message.key,
                    "headers": dict(message.headers),
                    "value": message.value.decode("utf-8", errors="replace"),
                }
                log_file.write(json.dumps(record, ensure_ascii=False) + "\n")

"""The composition root: the pipeline assembled from settings, and its stage registry.

    source -> fetch -> extract --(extracted)--> cluster --(clustered, stories)--> index
                                                    |          |                     ^
                                                    |          +--> link --(stories)-+
                                                    +--(dead letter)--> log

`Pipeline` builds every part from `Settings` (the bus, the search store, the clusterer with
its saved state, the fetcher, the feed poller and its state) and is the only place that does:
the CLI, the flows and the services all go through it. `Pipeline.poll` runs the producing half
(`newsflow.ingest`) and then the consuming stages; `Pipeline.worker` gives one consuming stage
to the runner (`newsflow.worker`), in-process or as a service (`newsflow serve STAGE`).

Each consuming stage is registered once, in `STAGES`: the topics it reads, how its handler
is built, and whether the settings turn it on (the link stage runs only with `[cluster]
cross_language`). Its consumer group is `<[kafka] group_prefix>-<stage>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from connectors.feeds.lists import FeedSpec
from connectors.feeds.poll import FeedPoller, poll_policy
from connectors.feeds.state import FeedState, feed_state_turn
from connectors.http import Fetcher
from connectors.memory_bus import MemoryBus
from connectors.search import open_remote_store
from connectors.sqlite_store import SqliteStore
from newsflow.bus import Bus, Topics
from newsflow.cluster_state import checkpointer, start_clusterer
from newsflow.clustering.process import ClustererProcess
from newsflow.config import Settings
from newsflow.ingest import Progress, ingest
from newsflow.linking.stage import LinkStage, link_topics, open_link_stage
from newsflow.outcomes import FeedOutcome, PollResult
from newsflow.sources import SourceItem
from newsflow.stages import (
    ClusterStage,
    DeadLetterLog,
    IndexStage,
    StageHandler,
    publish_article,
)
from newsflow.store import SearchStore
from newsflow.worker import BatchLimits, CommitGate, StopFlag, Worker, drained, run_workers
from schemas import Article

# How long the in-process runner waits for a batch to fill on the embedded bus.
EMBEDDED_BATCH = BatchLimits(max_records=500, max_wait_s=0.05)
STORY_LOOKUP_LIMIT = 1000


class StageOff(ValueError):
    """A registered stage that the settings do not turn on."""


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class StageSpec:
    """A consuming stage: its name, the topics it reads, how its handler is built, and
    whether it runs with the given settings (`needs` says what turns it on)."""

    name: str
    reads: Callable[[Topics], list[str]]
    build: Callable[[Pipeline], StageHandler]
    runs: Callable[[Settings], bool] = _always
    needs: str = ""

    def check_on(self, settings: Settings) -> None:
        """Raise `StageOff` when the settings do not run this stage."""
        if not self.runs(settings):
            raise StageOff(f"the {self.name} stage needs {self.needs}")


def _cluster_stage(p: Pipeline) -> StageHandler:
    return ClusterStage(p.bus, p.topics, p.clusterer, checkpointer(p.settings, p.clusterer))


def _link_stage(p: Pipeline) -> StageHandler:
    return p.link_stage


def _index_stage(p: Pipeline) -> StageHandler:
    return IndexStage(p.bus, p.topics, p.store)


def _dead_letter_log(p: Pipeline) -> StageHandler:
    return DeadLetterLog(p.settings.data_dir / "dead-letter.jsonl")


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec("cluster", lambda topics: [topics.extracted], _cluster_stage),
        StageSpec(
            "link",
            link_topics,
            _link_stage,
            runs=lambda settings: settings.cluster.cross_language,
            needs="[cluster] cross_language on (NEWSFLOW_CLUSTER_CROSS_LANGUAGE=true)",
        ),
        StageSpec("index", lambda topics: [topics.clustered, topics.stories], _index_stage),
        StageSpec("dead-letter-log", lambda topics: [topics.dead_letter], _dead_letter_log),
    )
}


def stages_on(settings: Settings) -> list[str]:
    """The names of the stages the settings run, in `STAGES` order."""
    return [name for name, spec in STAGES.items() if spec.runs(settings)]


@dataclass(frozen=True)
class Subscription:
    """What a consuming stage reads, and as which consumer group."""

    stage: str
    topics: list[str]
    group: str


def subscriptions(settings: Settings) -> dict[str, Subscription]:
    """The subscriptions of the stages the settings run, by stage name, from `STAGES`."""
    topics = Topics.from_settings(settings.kafka)
    prefix = settings.kafka.group_prefix
    return {
        name: Subscription(name, STAGES[name].reads(topics), f"{prefix}-{name}")
        for name in stages_on(settings)
    }


def open_bus(settings: Settings) -> Bus:
    """The bus the settings select: the in-process bus unless Kafka is configured."""
    if settings.kafka.bootstrap:
        from connectors.kafka import KafkaBus

        return KafkaBus(settings.kafka)
    return MemoryBus()


def open_store(settings: Settings) -> SearchStore:
    """The search store the settings select: Elasticsearch or OpenSearch when a URL is set
    (`NEWSFLOW_ES_URL`, `NEWSFLOW_OPENSEARCH_URL`), else SQLite under the data dir."""
    remote = open_remote_store(settings.search)
    return remote if remote is not None else SqliteStore.in_data_dir(settings.data_dir)


def open_fetcher(settings: Settings) -> Fetcher:
    """A fetcher with the `[fetch]` settings (an async context manager)."""
    return Fetcher(settings.fetch)


def open_feed_state(settings: Settings) -> FeedState:
    """The feed state under the data dir, for reading and editing it outside a poll."""
    return FeedState.in_data_dir(settings.data_dir)


def link_state_path(settings: Settings) -> Path:
    return settings.data_dir / "link-state"


class Pipeline:
    """Bus, store, clusterer, fetcher and feed state for one process, built from settings."""

    def __init__(self, settings: Settings, clusterer: ClustererProcess | None = None) -> None:
        """`clusterer`: one already started (closed with the pipeline); by default it is
        started, and restored, on first use."""
        self.settings = settings
        self.topics = Topics.from_settings(settings.kafka)
        self.bus = open_bus(settings)
        self._store: SearchStore | None = None
        self._clusterer = clusterer
        self._link_stage: LinkStage | None = None
        self.published: list[str] = []  # ids published since the current poll began

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> SearchStore:
        """The search store, opened on first use."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def clusterer(self) -> ClustererProcess:
        """The clusterer's process, started on first use."""
        if self._clusterer is None:
            self._clusterer = start_clusterer(self.settings)
        return self._clusterer

    @property
    def link_stage(self) -> LinkStage:
        """The link stage, restored from its state on first use (the model loads once per
        process). Raises `StageOff` without `[cluster] cross_language`, `LinkingUnavailable`
        without the model, `LinkStateError` for a damaged state."""
        if self._link_stage is None:
            STAGES["link"].check_on(self.settings)
            self._link_stage = open_link_stage(
                self.bus, self.topics, self.settings.cluster, link_state_path(self.settings)
            )
        return self._link_stage

    def publish(self, article: Article) -> None:
        """Hand an extracted article to the consuming stages."""
        publish_article(self.bus, self.topics.extracted, article, "extract")
        self.published.append(article.id)

    async def poll(
        self,
        feeds: Sequence[FeedSpec] = (),
        *,
        stateful: bool = False,
        skip_stored: bool = True,
        direct: FeedOutcome | None = None,
        direct_items: Sequence[SourceItem] = (),
        published_as: Callable[[Article], Article] | None = None,
        progress: Progress | None = None,
    ) -> PollResult:
        """Ingest `feeds` (and `direct_items`), run the consuming stages, report.

        `stateful`: poll with the feed state (due feeds only, conditional GET, unseen
        entries, articles fetched earlier skipped), committed only once the run's articles
        went through the stages, so a run that dies earlier reads the same entries again.
        `skip_stored`: do not fetch articles already in the search store (a replay turns it
        off to be repeatable). `published_as` may restate an article before it is published.
        """
        if not self.settings.kafka.services_running:
            _ = self.clusterer  # restored first: a bad state is refused before any work starts
            if STAGES["link"].runs(self.settings):
                _ = self.link_stage  # so is a missing model or a bad link state
        async with AsyncExitStack() as stack:
            fetcher = await stack.enter_async_context(open_fetcher(self.settings))
            state = (
                await stack.enter_async_context(feed_state_turn(self.settings.data_dir))
                if stateful
                else None
            )
            poller = (
                FeedPoller(fetcher, state, poll_policy(self.settings.fetch))
                if state is not None
                else None
            )
            restate = published_as or (lambda article: article)
            self.published = []
            feeds_out = await ingest(
                feeds,
                fetcher=fetcher,
                publish=lambda article: self.publish(restate(article)),
                poller=poller,
                direct=direct,
                direct_items=direct_items,
                stored=self._stored_ids if skip_stored else None,
                concurrency=self.settings.fetch.concurrency,
                progress=progress,
            )
            result = self._settle(PollResult(feeds=feeds_out, published=list(self.published)))
            if state is not None:
                state.commit()  # only now: the run's articles went through the pipeline
        return result

    def worker(self, stage: str, *, join_group: bool = False) -> Worker:
        """One consuming stage (see `STAGES`) as a worker for the runner; raises `StageOff`
        for a stage the settings do not run. It reads every partition alone, from the group's
        committed offsets, unless `join_group` (a service, sharing the partitions with other
        members; see `connectors.kafka.consumer`)."""
        spec = STAGES.get(stage)
        if spec is None:
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        spec.check_on(self.settings)
        handler = spec.build(self)  # before subscribing, so a bad state fails first
        subscription = subscriptions(self.settings)[stage]
        consumer = self.bus.consumer(subscription.topics, subscription.group, join_group=join_group)
        gate = handler if isinstance(handler, CommitGate) else None
        return Worker(stage, consumer, handler.handle, gate)

    def process(self) -> dict[str, int]:
        """Run the consuming stages until the published articles are processed: in-process
        until the bus is drained, or on Kafka until they reached the store. Returns the
        messages each stage handled (none when `[kafka] services_running`)."""
        self.bus.flush()
        if not self.settings.kafka.bootstrap:
            workers = [self.worker(name) for name in stages_on(self.settings)]
            run_workers(workers, StopFlag(), EMBEDDED_BATCH, until=lambda: drained(workers))
            return {w.name: w.stats.messages for w in workers}
        kafka = self.settings.kafka
        deadline = time.monotonic() + kafka.process_timeout_s
        wanted = list(dict.fromkeys(self.published))

        def stored() -> bool:
            if len(self._stored_ids(wanted)) == len(wanted):
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the published articles did not all reach the store within "
                    f"{kafka.process_timeout_s:.0f}s; see `newsflow status`"
                )
            return False

        if kafka.services_running:
            while not stored():
                time.sleep(0.5)
            return {}
        workers = [self.worker(name) for name in stages_on(self.settings)]
        limits = BatchLimits(kafka.batch_max_records, kafka.batch_max_wait_ms / 1000)
        run_workers(workers, StopFlag(), limits, until=stored)
        return {w.name: w.stats.messages for w in workers}

    def _stored_ids(self, ids: list[str]) -> set[str]:
        return {article.id for article in self.store.get_articles(ids)}

    def _settle(self, result: PollResult) -> PollResult:
        """Run the stages; then read back what is stored of the run, and its stories."""
        result.handled = self.process()
        result.articles = self.store.get_articles(result.published)
        story_ids = {a.story_id for a in result.articles if a.story_id}
        if story_ids:
            since = min(a.event_time for a in result.articles)
            stored = self.store.stories(since=since, limit=STORY_LOOKUP_LIMIT)
            result.stories = [story for story in stored if story.id in story_ids]
        return result

    def close(self) -> None:
        if self._clusterer is not None:
            self._clusterer.close()
        self.bus.close()
        if self._store is not None:
            self._store.close()

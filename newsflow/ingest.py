"""The producing half of the pipeline: sources -> fetch -> extract -> published articles.

`ingest` is the one producer path: `newsflow run`, `newsflow replay` and the `poll-feeds`
and `replay-seeds` flows all call it (through `newsflow.pipeline.Pipeline.poll`). What
differs between them is only how each I/O step runs, a `Steps`: `DirectSteps` calls it
plainly; the flows pass Prefect tasks with retries (`flows.fetch_tasks.TaskSteps`). A step
never raises: it returns its result or the `Skip` that stands for its failure.

For each feed, `ingest` lists its items (polled with conditional GET and its stored state
when there is a `FeedPoller` and the source is a feed; read plainly otherwise), drops the
items listed twice in the run, already in the search store, or fetched in an earlier run,
fetches and extracts the rest with bounded concurrency, and publishes every article. Every
item ends as an article or a recorded skip, counted on its feed's `FeedOutcome`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from connectors.feeds.body import read_feed_page
from connectors.feeds.lists import FeedSpec
from connectors.feeds.poll import FeedEntries, FeedPoller
from connectors.feeds.state import FeedState
from connectors.feeds.urllist import parse_url_list
from connectors.http import Fetcher, FetchError
from newsflow.extract import ExtractBudget, PageInput, article_from_text, extract_article
from newsflow.outcomes import NOT_FAILURES, FeedOutcome, Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.urls import article_id, canonicalize
from schemas import Article

T = TypeVar("T")
Listing = list[SourceItem] | FeedEntries | Skip


class Steps(Protocol):
    """How the producer runs its three I/O steps; none of them raises."""

    async def read(self, fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
        """A feed or URL list's items now, or why it could not be read."""
        ...

    async def poll(self, poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
        """A feed read with its stored state: its unseen entries, or why there are none."""
        ...

    async def fetch(self, fetcher: Fetcher, item: SourceItem) -> Article | Skip:
        """One item as an extracted article, or why it did not become one."""
        ...


class Progress(Protocol):
    """Told how much work a run has (`planned`) and how much is done (`finished`)."""

    def planned(self, items: int) -> None: ...

    def finished(self, items: int) -> None: ...


async def read_source(fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
    """A feed (RSS, Atom, JSON Feed or news sitemap) or URL list's items, or why not."""
    try:
        if spec.kind == "urls":
            page = await fetcher.fetch(spec.url, accept="any")
            text = page.content.decode(page.charset or "utf-8", errors="replace")
            return parse_url_list(text, list_url=spec.url, source=spec.name)
        page = await fetcher.fetch(spec.url, accept="feed")
    except FetchError as exc:
        return exc.as_skip()
    return read_feed_page(page, spec.name)


async def fetch_article(fetcher: Fetcher, item: SourceItem) -> Article | Skip:
    """One item as an article: its carried text, or its page fetched and extracted."""
    if item.text is not None:
        return article_from_text(item, datetime.now(UTC))
    try:
        page = await fetcher.fetch(item.url, accept="html")
    except FetchError as exc:
        return exc.as_skip()
    page_input = PageInput(page.content, page.final_url, page.fetched_at, page.decoding_charset)
    # Extraction is CPU work: keep it off the event loop so fetches go on meanwhile.
    budget = ExtractBudget.from_settings(fetcher.settings)
    return await asyncio.to_thread(extract_article, page_input, item, budget)


class DirectSteps:
    """The steps called plainly, in this process, without retries."""

    async def read(self, fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem] | Skip:
        return await read_source(fetcher, spec)

    async def poll(self, poller: FeedPoller, spec: FeedSpec) -> FeedEntries:
        return await poller.new_entries(spec.url, source=spec.name)

    async def fetch(self, fetcher: Fetcher, item: SourceItem) -> Article | Skip:
        return await fetch_article(fetcher, item)


async def ingest(
    feeds: Sequence[FeedSpec],
    *,
    fetcher: Fetcher,
    publish: Callable[[Article], None],
    steps: Steps | None = None,
    poller: FeedPoller | None = None,
    direct: FeedOutcome | None = None,
    direct_items: Sequence[SourceItem] = (),
    stored: Callable[[list[str]], Collection[str]] | None = None,
    concurrency: int = 8,
    progress: Progress | None = None,
) -> list[FeedOutcome]:
    """Read `feeds` (plus `direct_items`, counted on `direct`), publish their new articles.

    With a `poller`, feeds are polled only when due, with conditional GET, and only their
    unseen entries are read; articles fetched in an earlier run are not fetched again; the
    entries are marked seen in the poller's state once handled, except those that failed
    transiently (commit that state once the articles went through the pipeline).
    `stored(ids)` names the article ids already in the search store: those are not fetched.
    Returns one outcome per feed, then `direct` if given.
    """
    steps = steps or DirectSteps()
    slots = asyncio.Semaphore(concurrency)

    async def limited(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    listings = await asyncio.gather(
        *(limited(listing) for listing in _listings(steps, fetcher, poller, feeds))
    )
    outcomes = [FeedOutcome(url=spec.url, name=spec.name) for spec in feeds]
    work = [
        (outcome, item)
        for outcome, listing in zip(outcomes, listings, strict=True)
        for item in _listed(outcome, listing)
    ]
    if direct is not None:
        outcomes.append(direct)
        direct.listed += len(direct_items)
        work += [(direct, item) for item in direct_items]
    fresh = _new_items(work, stored, poller.state if poller is not None else None)
    if progress is not None:
        progress.planned(len(fresh))
    failed: dict[int, Skip] = {}

    async def one(outcome: FeedOutcome, item: SourceItem) -> None:
        article = await limited(steps.fetch(fetcher, item))
        if isinstance(article, Skip):
            outcome.item_skips.append(article)
            failed[id(item)] = article
        else:
            if poller is not None:
                mark_fetched(poller, item, article)
            publish(article)
            outcome.articles += 1
        if progress is not None:
            progress.finished(1)

    await asyncio.gather(*(one(outcome, item) for outcome, item in fresh))
    if poller is not None:
        commit_polled(poller, [r for r in listings if isinstance(r, FeedEntries)], failed)
    return outcomes


def mark_fetched(poller: FeedPoller, item: SourceItem, article: Article) -> None:
    """Remember that `item` became `article`, so that later runs do not fetch it again."""
    seen = {article.canonical_url, *_canonical_or_empty(item.url)}
    poller.state.mark_articles(seen, poller.clock())


def commit_polled(
    poller: FeedPoller, polled: Iterable[FeedEntries], failed: Mapping[int, Skip]
) -> None:
    """Mark the polled feeds' entries seen and store their state.

    `failed` maps `id(item)` to why that entry did not become an article; entries that failed
    transiently (timeouts, 5xx, ...) are left unseen, so the next poll offers them again.
    """
    for read in polled:
        retry = [i for i in read.new if id(i) in failed and failed[id(i)].transient]
        poller.commit(read, retry=retry)


def _listings(
    steps: Steps, fetcher: Fetcher, poller: FeedPoller | None, feeds: Sequence[FeedSpec]
) -> list[Awaitable[Listing]]:
    """One awaitable per feed: polled with its state when there is a poller and it is a
    feed (a not-due skip if it was polled recently), else read plainly."""
    stateful = [spec for spec in feeds if poller is not None and spec.kind == "feed"]
    due = set(poller.due(spec.url for spec in stateful)) if poller is not None else set()

    async def listing(spec: FeedSpec) -> Listing:
        if poller is not None and spec in stateful:
            if spec.url not in due:
                return Skip(spec.url, SkipReason.NOT_DUE, "polled recently (see `newsflow feeds`)")
            return await steps.poll(poller, spec)
        return await steps.read(fetcher, spec)

    return [listing(spec) for spec in feeds]


def _listed(outcome: FeedOutcome, listing: Listing) -> list[SourceItem]:
    """Record in `outcome` how its feed was read; return the items still to consider."""
    if isinstance(listing, FeedEntries):
        if listing.skip is not None:
            return _listed(outcome, listing.skip)
        outcome.listed += len(listing.entries)
        outcome.seen_before += len(listing.entries) - len(listing.new) - len(listing.deferred)
        outcome.item_skips.extend(listing.deferred_skips())  # over the per-feed cap: next poll
        return listing.new
    if isinstance(listing, Skip):
        if listing.reason in NOT_FAILURES:
            outcome.not_read = listing
        else:
            outcome.error = listing
        return []
    outcome.listed += len(listing)
    return listing


def _new_items(
    work: list[tuple[FeedOutcome, SourceItem]],
    stored: Callable[[list[str]], Collection[str]] | None,
    state: FeedState | None,
) -> list[tuple[FeedOutcome, SourceItem]]:
    """Drop items listed twice in this run, already `stored`, or fetched in an earlier run
    (per `state`); invalid URLs are skipped with their reason."""
    ids: dict[str, tuple[FeedOutcome, SourceItem]] = {}
    for outcome, item in work:
        try:
            key = article_id(canonicalize(item.url))
        except ValueError as exc:
            outcome.item_skips.append(Skip(item.url, SkipReason.INVALID_URL, str(exc)))
            continue
        if key in ids:
            outcome.seen_before += 1
        else:
            ids[key] = (outcome, item)
    known = set(stored(list(ids))) if stored is not None else set()
    if state is not None:
        urls = state.articles_seen(canonicalize(item.url) for _, item in ids.values())
        known |= {article_id(url) for url in urls}
    for key in known & ids.keys():
        outcome, _ = ids.pop(key)
        outcome.seen_before += 1
    return list(ids.values())


def _canonical_or_empty(url: str) -> list[str]:
    try:
        return [canonicalize(url)]
    except ValueError:
        return []

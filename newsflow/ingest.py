"""The producing half of the pipeline: sources -> fetch -> extract -> extracted articles.

`read_source` and `fetch_article` are the single steps (the Prefect flows run each as a
task); `ingest` runs them for a whole feed list or item list with bounded concurrency and
hands every article to a callback, which publishes it on the bus.
The feed-state steps (`due_feeds`, `fetched_before`, `mark_fetched`, `commit_polled`) are
shared with the `poll-feeds` flow in the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from connectors.feeds.lists import FeedSpec
from connectors.feeds.parse import FeedError, parse_feed
from connectors.feeds.poll import FeedEntries, FeedPoller, is_transient
from connectors.feeds.state import FeedState
from connectors.feeds.urllist import parse_url_list
from connectors.http import Fetcher, FetchError
from newsflow.extract import ExtractBudget, PageInput, article_from_text, extract_article
from newsflow.outcomes import RunReport, Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.urls import canonicalize
from schemas import Article

ArticleSink = Callable[[Article], None]
Progress = Callable[[int], None]


async def read_source(fetcher: Fetcher, spec: FeedSpec) -> list[SourceItem]:
    """Fetch a feed or URL list and return its items; raise `FetchError`/`FeedError`."""
    if spec.kind == "urls":
        page = await fetcher.fetch(spec.url, accept="any")
        text = page.content.decode(page.charset or "utf-8", errors="replace")
        return parse_url_list(text, list_url=spec.url, source=spec.name)
    page = await fetcher.fetch(spec.url, accept="feed")
    return parse_feed(page.content, page.final_url, content_type=page.media_type, source=spec.name)


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


async def ingest(
    fetcher: Fetcher,
    *,
    feeds: Sequence[FeedSpec] = (),
    items: Iterable[SourceItem] = (),
    sink: ArticleSink,
    concurrency: int = 8,
    on_total: Progress | None = None,
    on_done: Progress | None = None,
    poller: FeedPoller | None = None,
) -> RunReport:
    """Read `feeds`, then fetch and extract their items and `items`; send articles to `sink`.

    Items whose canonical URL already came up in this run are skipped as `seen-before`.
    Every item ends as an article or a recorded skip: nothing is dropped silently.
    `on_total(n)` announces n more items to do, `on_done(n)` that n are finished.

    With a `poller` (feed state kept across runs), feeds are polled only when due, with
    conditional GET; only their unseen entries are read, articles fetched in an earlier run
    are not fetched again, and entries are marked seen once handled (see `FeedPoller`).
    """
    report = RunReport()
    all_items = list(items)
    stateful = [spec for spec in feeds if poller is not None and spec.kind == "feed"]
    polled = await _poll_feeds(poller, stateful, report) if poller is not None else []
    for spec in feeds:
        if spec in stateful:
            continue
        try:
            all_items.extend(await read_source(fetcher, spec))
        except FetchError as exc:
            report.skipped(exc.as_skip())
        except FeedError as exc:
            report.skipped(Skip(spec.url, SkipReason.FEED_PARSE_ERROR, str(exc)))
    all_items.extend(item for read in polled for item in read.new)
    unique = _unique_items(all_items, report)
    if poller is not None:
        unique = _not_fetched_before(poller.state, unique, report)
    if on_total:
        on_total(len(unique))
    limit = asyncio.Semaphore(concurrency)
    failed: dict[int, Skip] = {}

    async def one(item: SourceItem) -> None:
        async with limit:
            outcome = await fetch_article(fetcher, item)
        if isinstance(outcome, Skip):
            report.skipped(outcome)
            failed[id(item)] = outcome
        else:
            sink(outcome)
            report.articles += 1
            if poller is not None:
                mark_fetched(poller, item, outcome)
        if on_done:
            on_done(1)

    await asyncio.gather(*(one(item) for item in unique))
    if poller is not None:
        commit_polled(poller, polled, failed)
    return report


def due_feeds(poller: FeedPoller, specs: Sequence[FeedSpec]) -> tuple[list[FeedSpec], list[Skip]]:
    """The feeds among `specs` due for a poll, and a not-due skip for each of the others."""
    by_url = {spec.url: spec for spec in specs}
    due = set(poller.due(by_url))
    not_due = [
        Skip(url, SkipReason.NOT_DUE, "polled recently (see `newsflow feeds`)")
        for url in by_url
        if url not in due
    ]
    return [spec for url, spec in by_url.items() if url in due], not_due


def fetched_before(state: FeedState, items: Iterable[SourceItem]) -> set[str]:
    """The canonical URLs among `items` (valid URLs) fetched as articles in an earlier run."""
    return state.articles_seen(canonicalize(item.url) for item in items)


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
        retry = [i for i in read.new if id(i) in failed and is_transient(failed[id(i)])]
        poller.commit(read, retry=retry)


async def _poll_feeds(
    poller: FeedPoller, specs: Sequence[FeedSpec], report: RunReport
) -> list[FeedEntries]:
    """Poll the due feeds among `specs` concurrently; the others are skipped as not due."""
    due, not_due = due_feeds(poller, specs)
    for skip in not_due:
        report.skipped(skip)
    reads = await asyncio.gather(*(poller.new_entries(spec.url, source=spec.name) for spec in due))
    for read in reads:
        if read.skip is not None:
            report.skipped(read.skip)
        for skip in read.deferred_skips():
            report.skipped(skip)
    return [read for read in reads if read.skip is None]


def _canonical_or_empty(url: str) -> list[str]:
    try:
        return [canonicalize(url)]
    except ValueError:
        return []


def _not_fetched_before(
    state: FeedState, items: list[SourceItem], report: RunReport
) -> list[SourceItem]:
    """Items whose canonical URL was not fetched as an article in an earlier run."""
    known = fetched_before(state, items)
    fresh = []
    for item in items:
        if canonicalize(item.url) in known:
            report.skipped(Skip(item.url, SkipReason.SEEN_BEFORE, "fetched in an earlier run"))
        else:
            fresh.append(item)
    return fresh


def _unique_items(items: list[SourceItem], report: RunReport) -> list[SourceItem]:
    seen: set[str] = set()
    unique = []
    for item in items:
        try:
            canonical = canonicalize(item.url)
        except ValueError as exc:
            report.skipped(Skip(item.url, SkipReason.INVALID_URL, str(exc)))
            continue
        if canonical in seen:
            report.skipped(Skip(item.url, SkipReason.SEEN_BEFORE, "listed twice in this run"))
            continue
        seen.add(canonical)
        unique.append(item)
    return unique

"""The producing half of the pipeline: sources -> fetch -> extract -> extracted articles.

`read_source` and `fetch_article` are the single steps (the Prefect flows run each as a
task); `ingest` runs them for a whole feed list or item list with bounded concurrency and
hands every article to a callback, which publishes it on the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from connectors.feedlist import FeedSpec
from connectors.feeds import FeedError, parse_feed
from connectors.http import Fetcher, FetchError
from connectors.http.feedpoll import FeedEntries, FeedPoller, is_transient
from connectors.http.feedstate import FeedState
from connectors.urllist import parse_url_list
from newsflow.extract import PageInput, article_from_text, extract_article
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
    return await asyncio.to_thread(extract_article, page_input, item)


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
                seen = {outcome.canonical_url, *_canonical_or_empty(item.url)}
                poller.state.mark_articles(seen, poller.clock())
        if on_done:
            on_done(1)

    await asyncio.gather(*(one(item) for item in unique))
    if poller is not None:
        for read in polled:
            retry = [i for i in read.new if id(i) in failed and is_transient(failed[id(i)])]
            poller.commit(read, retry=retry)
    return report


async def _poll_feeds(
    poller: FeedPoller, specs: Sequence[FeedSpec], report: RunReport
) -> list[FeedEntries]:
    """Poll the due feeds among `specs` concurrently; the others are skipped as not due."""
    by_url = {spec.url: spec for spec in specs}
    due = set(poller.due(by_url))
    for url in by_url.keys() - due:
        report.skipped(Skip(url, SkipReason.NOT_DUE, "polled recently (see `newsflow feeds`)"))
    reads = await asyncio.gather(
        *(poller.new_entries(url, source=by_url[url].name) for url in by_url if url in due)
    )
    for read in reads:
        if read.skip is not None:
            report.skipped(read.skip)
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
    known = state.articles_seen(canonicalize(item.url) for item in items)
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

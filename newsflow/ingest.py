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
    page_input = PageInput(page.content, page.final_url, page.fetched_at, page.charset)
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
) -> RunReport:
    """Read `feeds`, then fetch and extract their items and `items`; send articles to `sink`.

    Items whose canonical URL already came up in this run are skipped as `seen-before`.
    Every item ends as an article or a recorded skip: nothing is dropped silently.
    `on_total(n)` announces n more items to do, `on_done(n)` that n are finished.
    """
    report = RunReport()
    all_items = list(items)
    for spec in feeds:
        try:
            all_items.extend(await read_source(fetcher, spec))
        except FetchError as exc:
            report.skipped(exc.as_skip())
        except FeedError as exc:
            report.skipped(Skip(spec.url, SkipReason.FEED_PARSE_ERROR, str(exc)))
    unique = _unique_items(all_items, report)
    if on_total:
        on_total(len(unique))
    limit = asyncio.Semaphore(concurrency)

    async def one(item: SourceItem) -> None:
        async with limit:
            outcome = await fetch_article(fetcher, item)
        if isinstance(outcome, Skip):
            report.skipped(outcome)
        else:
            sink(outcome)
            report.articles += 1
        if on_done:
            on_done(1)

    await asyncio.gather(*(one(item) for item in unique))
    return report


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

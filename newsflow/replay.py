"""Replay the seeds fixture through the whole pipeline, directly or over loopback HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from connectors.feedlist import FeedSpec
from connectors.http import Fetcher
from connectors.seeds import FEED_PATH, load_seeds, seed_site
from connectors.static_site import serve
from newsflow.config import Settings
from newsflow.ingest import Progress, ingest
from newsflow.outcomes import RunReport
from newsflow.pipeline import Pipeline, ProcessReport
from schemas import Article


class ReplayMode(StrEnum):
    """`direct`: texts straight in; `served`: fetched and extracted from a loopback site."""

    DIRECT = "direct"
    SERVED = "served"


@dataclass
class ReplayResult:
    """What the replay ingested and processed, and the articles as they are now stored."""

    ingest: RunReport
    process: ProcessReport
    articles: list[Article]


async def replay(
    settings: Settings,
    folder: Path,
    mode: ReplayMode = ReplayMode.SERVED,
    *,
    on_total: Progress | None = None,
    on_done: Progress | None = None,
) -> ReplayResult:
    """Run the seeds in `folder` end to end and return them as the store now has them."""
    seeds = load_seeds(folder)
    with Pipeline(settings) as pipeline:
        if mode is ReplayMode.DIRECT:
            async with Fetcher(settings.fetch) as fetcher:
                report = await ingest(
                    fetcher,
                    items=[seed.item() for seed in seeds],
                    sink=pipeline.publish,
                    on_total=on_total,
                    on_done=on_done,
                )
        else:
            # The replay trusts the one loopback server it starts itself (nothing else), and
            # need not space its requests to it.
            fetch_settings = settings.fetch.model_copy(
                update={
                    "allowed_networks": [*settings.fetch.allowed_networks, "127.0.0.1/32"],
                    "per_host_rate": 0.0,
                }
            )
            with serve(seed_site(seeds)) as base_url:
                async with Fetcher(fetch_settings) as fetcher:
                    report = await ingest(
                        fetcher,
                        feeds=[FeedSpec(url=base_url + FEED_PATH)],
                        sink=pipeline.publish,
                        concurrency=settings.fetch.concurrency,
                        on_total=on_total,
                        on_done=on_done,
                    )
        processed = pipeline.process()
        stored = pipeline.store.get_articles(pipeline.published)
    return ReplayResult(report, processed, stored)

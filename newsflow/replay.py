"""Replay the seeds fixture through the whole pipeline, directly or over loopback HTTP.

`replay_sources` says what a replay ingests; `replay` runs it through the one producer path
(`Pipeline.poll`), as the `replay-seeds` flow (`flows/replay_seeds.py`) does for
`newsflow replay`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from connectors.feeds.lists import FeedSpec
from connectors.seeds import FEED_PATH, Seed, load_seeds, seed_site
from connectors.static_site import serve
from newsflow.config import Settings
from newsflow.ingest import Progress
from newsflow.outcomes import FeedOutcome, PollResult
from newsflow.pipeline import Pipeline
from newsflow.sources import SourceItem
from newsflow.urls import article_id, canonicalize
from schemas import Article

LOOPBACK_ONLY = "127.0.0.1/32"


class ReplayMode(StrEnum):
    """`direct`: texts straight in; `served`: fetched and extracted from a loopback site."""

    DIRECT = "direct"
    SERVED = "served"


@dataclass
class ReplaySources:
    """What one replay ingests, with the settings to fetch it and how to publish it."""

    settings: Settings
    feeds: list[FeedSpec] = field(default_factory=list)
    items: list[SourceItem] = field(default_factory=list)
    published_as: Callable[[Article], Article] = lambda article: article


@contextmanager
def replay_sources(settings: Settings, folder: Path, mode: ReplayMode) -> Iterator[ReplaySources]:
    """The seeds in `folder` as sources: their texts (direct) or a loopback site (served).

    The served site runs while the block runs, and the settings returned trust that one
    loopback address (nothing else) without spacing requests to it. Its articles are
    published under the manifest URLs the site stands in for, so every replay, served on
    whatever port or direct, gives the same article ids and stores nothing twice.
    """
    seeds = load_seeds(folder)
    if mode is ReplayMode.DIRECT:
        yield ReplaySources(settings, items=[seed.item() for seed in seeds])
        return
    fetch = settings.fetch.model_copy(
        update={
            "allowed_networks": [*settings.fetch.allowed_networks, LOOPBACK_ONLY],
            "per_host_rate": 0.0,
        }
    )
    with serve(seed_site(seeds)) as base_url:
        yield ReplaySources(
            settings.model_copy(update={"fetch": fetch}),
            feeds=[FeedSpec(url=base_url + FEED_PATH, name="seeds (served)")],
            published_as=lambda article: as_published_seed(article, seeds),
        )


def as_published_seed(article: Article, seeds: list[Seed]) -> Article:
    """An article fetched from the seeds site, under the manifest URL its page stands for."""
    path = urlsplit(article.url).path
    seed = next((s for s in seeds if s.path == path), None)
    if seed is None:
        return article
    canonical = canonicalize(seed.url)
    return article.model_copy(
        update={"id": article_id(canonical), "url": seed.url, "canonical_url": canonical}
    )


async def replay(
    settings: Settings,
    folder: Path,
    mode: ReplayMode = ReplayMode.SERVED,
    *,
    progress: Progress | None = None,
) -> PollResult:
    """Run the seeds in `folder` end to end; the result holds them as the store now has them.

    A replay is repeatable: articles already in the store are ingested again (idempotently),
    not skipped as seen.
    """
    with replay_sources(settings, folder, mode) as sources, Pipeline(sources.settings) as pipeline:
        return await pipeline.poll(
            sources.feeds,
            skip_stored=False,
            direct=FeedOutcome(url=str(folder), name="seeds (direct)") if sources.items else None,
            direct_items=sources.items,
            published_as=sources.published_as,
            progress=progress,
        )

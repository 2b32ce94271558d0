"""`replay-seeds`: the seeds fixture through the whole pipeline, as a Prefect flow run.

`served` (the default) serves the seeds as a small news site with an RSS feed on a loopback
port and polls it like any feed, so the real fetch and extraction tasks run; `direct` hands
the texts straight to the same tasks. Either way the run is repeatable: articles already in
the store are ingested again (idempotently), not skipped as seen.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from connectors.feedlist import FeedSpec
from connectors.seeds import FEED_PATH, load_seeds, seed_site
from connectors.static_site import serve
from flows.poll_feeds import poll_sources, publish_artifacts
from flows.poll_report import FeedOutcome
from newsflow.config import load_settings
from newsflow.pipeline import Pipeline, ProcessReport
from newsflow.replay import ReplayMode, ReplayResult

LOOPBACK_ONLY = "127.0.0.1/32"


@flow(name="replay-seeds")
async def replay_seeds(
    folder: str, mode: ReplayMode = ReplayMode.SERVED, data_dir: str | None = None
) -> ReplayResult:
    """Replay the seeds in `folder` end to end; return them as the store now has them."""
    settings = load_settings(**({"data_dir": Path(data_dir)} if data_dir else {}))
    seeds = load_seeds(Path(folder))
    with Pipeline(settings) as pipeline:
        if mode is ReplayMode.DIRECT:
            result = await poll_sources(
                settings,
                pipeline,
                direct=FeedOutcome(url=str(folder), name="seeds (direct)"),
                direct_items=[seed.item() for seed in seeds],
                skip_seen=False,
            )
        else:
            # Trust the one loopback server this run starts itself, nothing else.
            fetch = settings.fetch.model_copy(
                update={"allowed_networks": [*settings.fetch.allowed_networks, LOOPBACK_ONLY]}
            )
            with serve(seed_site(seeds)) as base_url:
                result = await poll_sources(
                    settings.model_copy(update={"fetch": fetch}),
                    pipeline,
                    feeds=[FeedSpec(url=base_url + FEED_PATH, name="seeds (served)")],
                    skip_seen=False,
                )
    await publish_artifacts("replay-seeds", f"replay-seeds ({mode})", result)
    return ReplayResult(
        ingest=result.run_report(), process=ProcessReport(result.handled), articles=result.articles
    )

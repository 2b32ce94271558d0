"""`replay-seeds`: the seeds fixture through the whole pipeline, as a Prefect flow run.

`served` (the default) serves the seeds as a small news site with an RSS feed on a loopback
port and polls it like any feed, so the real fetch and extraction tasks run; `direct` hands
the texts straight to the same tasks. Either way the run is repeatable: articles already in
the store are ingested again (idempotently), not skipped as seen.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.poll_feeds import poll_sources, publish_artifacts
from flows.poll_report import FeedOutcome
from newsflow.config import load_settings
from newsflow.pipeline import Pipeline, ProcessReport
from newsflow.replay import ReplayMode, ReplayResult, replay_sources


@flow(name="replay-seeds")
async def replay_seeds(
    folder: str, mode: ReplayMode = ReplayMode.SERVED, data_dir: str | None = None
) -> ReplayResult:
    """Replay the seeds in `folder` end to end; return them as the store now has them."""
    settings = load_settings(**({"data_dir": Path(data_dir)} if data_dir else {}))
    with (
        Pipeline(settings) as pipeline,
        replay_sources(settings, Path(folder), mode) as sources,
    ):
        result = await poll_sources(
            sources.settings,
            pipeline,
            feeds=sources.feeds,
            direct=FeedOutcome(url=folder, name="seeds (direct)") if sources.items else None,
            direct_items=sources.items,
            skip_seen=False,
            published_as=sources.published_as,
        )
    await publish_artifacts("replay-seeds", f"replay-seeds ({mode})", result)
    return ReplayResult(
        ingest=result.run_report(), process=ProcessReport(result.handled), articles=result.articles
    )

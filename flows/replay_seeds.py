"""`replay-seeds`: the seeds fixture through the whole pipeline, as a Prefect flow run.

`served` (the default) serves the seeds as a small news site with an RSS feed on a loopback
port and polls it like any feed, so the real fetch and extraction steps run; `direct` hands
the texts straight to the same steps. Either way the run is repeatable (`newsflow.replay`).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.poll_feeds import publish_artifacts
from newsflow.config import load_settings
from newsflow.outcomes import PollResult
from newsflow.replay import ReplayMode, replay


@flow(name="replay-seeds")
async def replay_seeds(
    folder: str, mode: ReplayMode = ReplayMode.SERVED, data_dir: str | None = None
) -> PollResult:
    """Replay the seeds in `folder` end to end; return them as the store now has them."""
    settings = load_settings(**({"data_dir": Path(data_dir)} if data_dir else {}))
    result = await replay(settings, Path(folder), mode)
    await publish_artifacts("replay-seeds", f"replay-seeds ({mode})", result)
    return result

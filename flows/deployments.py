"""The deployments `newsflow serve` runs: one `poll-feeds` per feed group, `replay-seeds`.

Each poll deployment runs on its group's interval with the feed list's path as a parameter
(the run re-reads the file). No deployment has a Prefect concurrency limit: a poller killed
mid-run leaves its run RUNNING and holding the slot, and every later run would be cancelled
for good. Rounds cannot overlap anyway: a run waits for the data dir's feed-state lock, and a
round after an overrun finds only the feeds that came due (docs/decisions.md). Entrypoints
are module paths, so the runner finds the flows wherever the package is installed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from connectors.feeds.lists import FeedList
from flows.poll_feeds import artifact_key, poll_feeds
from flows.replay_seeds import replay_seeds


def poll_deployments(feeds_file: Path, feed_list: FeedList) -> list[RunnerDeployment]:
    """One scheduled `poll-feeds` deployment per group of `feed_list`."""
    return [
        RunnerDeployment.from_flow(
            poll_feeds,
            name=artifact_key("poll", group),
            interval=timedelta(minutes=feed_list.interval_minutes(group)),
            parameters={"feeds_file": str(feeds_file.resolve()), "group": group},
            entrypoint_type=EntrypointType.MODULE_PATH,
            tags=["newsflow", "poll"],
            description=f"Poll the {len(feeds)} feed(s) of group {group!r} in {feeds_file}.",
        )
        for group, feeds in feed_list.groups().items()
    ]


def replay_deployment(seeds: Path) -> RunnerDeployment:
    """`replay-seeds` on demand (no schedule): run it from the UI or `prefect deployment run`."""
    return RunnerDeployment.from_flow(
        replay_seeds,
        name="replay-seeds",
        parameters={"folder": str(seeds.resolve())},
        entrypoint_type=EntrypointType.MODULE_PATH,
        tags=["newsflow", "replay"],
        description=f"Replay the seeds fixture in {seeds} through the pipeline.",
    )

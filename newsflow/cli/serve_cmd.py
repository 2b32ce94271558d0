"""`newsflow serve` and `newsflow serve-stage`: the long-running Prefect services.

Prefect is imported inside the commands, so the other commands start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectors.seeds import MANIFEST
from newsflow.cli.app import DataDirOption, app, console, fail, feed_list_from, settings_for

DEFAULT_SEEDS = Path("seeds")


def _require_prefect_server() -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        fail(
            "serving deployments needs a Prefect server: set PREFECT_API_URL "
            "(docker compose does); without a server use `newsflow run --feeds`"
        )


@app.command("serve")
def serve_command(
    feeds: Annotated[
        Path,
        typer.Option(
            "--feeds",
            envvar="NEWSFLOW_FEEDS_FILE",
            help="Feed list (YAML or OPML): one poll-feeds deployment per group.",
            exists=True,
            dir_okay=False,
        ),
    ],
    seeds: Annotated[
        Path, typer.Option("--seeds", help="Seeds folder for the replay-seeds deployment.")
    ] = DEFAULT_SEEDS,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Flow runs at a time.")] = 4,
) -> None:
    """Serve the poll-feeds deployments (on each group's interval) and replay-seeds."""
    _require_prefect_server()
    feed_list = feed_list_from(feeds)

    from prefect import serve

    from flows.deployments import poll_deployments, replay_deployment

    deployments = poll_deployments(feeds, feed_list)
    if (seeds / MANIFEST).is_file():
        deployments.append(replay_deployment(seeds))
    else:
        console.print(f"no {MANIFEST} in {seeds}: not serving replay-seeds")
    serve(*deployments, limit=limit)


@app.command("serve-stage")
def serve_stage_command(
    stage: Annotated[str, typer.Argument(help="The consuming stage to run: cluster or index.")],
    batch_size: Annotated[int, typer.Option(min=1, help="Most messages per batch.")] = 500,
    batch_wait_s: Annotated[
        float, typer.Option(min=0.1, help="Longest time a batch stays open.")
    ] = 1.0,
    heartbeat: Annotated[
        Path | None, typer.Option(help="File touched after every poll, for health checks.")
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit once a poll comes back empty.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Consume one stage from Kafka; every batch is a `<stage>-batch` Prefect flow run."""
    from flows.consume import Stage, run_stage

    if stage not in set(Stage):
        fail(f"unknown stage {stage!r}: choose one of {', '.join(Stage)}")
    settings = settings_for(data_dir)
    if settings.kafka.bootstrap is None:
        fail(
            "serve-stage consumes from Kafka: set NEWSFLOW_KAFKA_BOOTSTRAP (on the embedded "
            "bus, `newsflow run` and `newsflow replay` cluster and index in-process)"
        )
    from newsflow.consumer_loop import BatchLimits, StopFlag
    from newsflow.pipeline import Pipeline

    with Pipeline(settings) as pipeline, StopFlag().on_signals() as stop:
        handled = run_stage(
            pipeline,
            Stage(stage),
            stop,
            limits=BatchLimits(max_records=batch_size, max_wait_s=batch_wait_s),
            heartbeat=heartbeat,
            until_idle=until_idle,
        )
    console.print(f"{stage}: {handled} message(s) handled")

"""`newsflow serve`: the long-running services.

- `newsflow serve --feeds FILE`: the Prefect deployments (one `poll-feeds` per feed group on
  its interval, and `replay-seeds`), served from this process; needs a Prefect server.
- `newsflow serve STAGE`: one consuming stage as a Kafka consumer service. With a Prefect
  server configured (PREFECT_API_URL) every batch is reported as a `<stage>-batch` flow run.

Prefect is imported inside the command, so the other commands start without it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from connectors.seeds import MANIFEST
from newsflow.cli import output
from newsflow.cli.app import (
    DataDirOption,
    app,
    fail,
    feed_list_from,
    settings_for,
    started_clusterer,
)
from newsflow.cli.kafka_cmd import batch_limits, kafka_settings_or_fail
from newsflow.pipeline import STAGES, Pipeline, StageOff
from newsflow.worker import StopFlag

if TYPE_CHECKING:
    from newsflow.clustering.process import ClustererProcess
    from newsflow.config import Settings

log = logging.getLogger(__name__)

DEFAULT_SEEDS = Path("seeds")


def _prefect_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


@app.command("serve")
def serve_command(
    stage: Annotated[
        str | None,
        typer.Argument(
            help=f"A consuming stage to run as a Kafka service: {', '.join(STAGES)}. "
            "Without it, serve the poll-feeds and replay-seeds deployments."
        ),
    ] = None,
    feeds: Annotated[
        Path | None,
        typer.Option(
            "--feeds",
            envvar="NEWSFLOW_FEEDS_FILE",
            help="Feed list (YAML or OPML): one poll-feeds deployment per group.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    seeds: Annotated[
        Path, typer.Option("--seeds", help="Seeds folder for the replay-seeds deployment.")
    ] = DEFAULT_SEEDS,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Flow runs at a time.")] = 4,
    heartbeat: Annotated[
        Path | None,
        typer.Option(help="With STAGE: a file touched every loop round, for health checks."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the Prefect deployments, or run one consuming stage (stop: SIGTERM)."""
    if stage is not None:
        _serve_stage(stage, heartbeat, data_dir)
        return
    if feeds is None:
        fail("give --feeds (or NEWSFLOW_FEEDS_FILE) to serve the deployments, or a STAGE")
    if not _prefect_api_url():
        fail(
            "serving deployments needs a Prefect server: set PREFECT_API_URL "
            "(docker compose does); without a server use `newsflow run --feeds`"
        )
    feed_list = feed_list_from(feeds)
    started_clusterer(settings_for(data_dir)).close()  # flow runs restore it; refuse a bad one

    from prefect import serve

    from flows.deployments import poll_deployments, replay_deployment

    deployments = poll_deployments(feeds, feed_list)
    if (seeds / MANIFEST).is_file():
        deployments.append(replay_deployment(seeds))
    else:
        output.note(f"no {MANIFEST} in {seeds}: not serving replay-seeds")
    serve(*deployments, limit=limit)


def _serve_stage(stage: str, heartbeat: Path | None, data_dir: Path | None) -> None:
    if stage not in STAGES:
        fail(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    settings = kafka_settings_or_fail(data_dir)
    try:
        STAGES[stage].check_on(settings)
    except StageOff as exc:
        fail(str(exc))
    clusterer = started_clusterer(settings) if stage == "cluster" else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from flows.consume import run_stage

    as_flow_runs = bool(_prefect_api_url())
    with StopFlag().on_signals() as stop:
        pipeline = _pipeline_when_reachable(settings, clusterer, stop)
        if pipeline is None:
            return
        with pipeline:
            handled = run_stage(
                pipeline,
                stage,
                stop,
                limits=batch_limits(settings),
                heartbeat=heartbeat,
                as_flow_runs=as_flow_runs,
            )
    output.note(f"{stage}: {handled} message(s) handled")


def _pipeline_when_reachable(
    settings: Settings, clusterer: ClustererProcess | None, stop: StopFlag
) -> Pipeline | None:
    """The stage's pipeline once its producer reaches the broker (None if stopped first).

    Opening the bus gives up after `connect_timeout_ms`; a service restarted while the broker
    is down must wait for it, as its consumer does, rather than exit.
    """
    from connectors.kafka.errors import BusUnavailable

    while not stop.is_set():
        try:
            return Pipeline(settings, clusterer)
        except BusUnavailable as exc:
            log.warning("%s; retrying", exc)
    return None

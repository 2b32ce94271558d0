"""Kafka commands: `status` (consumer lag) and `reprocess` (re-run stages from the retained
topics). A stage as a consumer service is `newsflow serve STAGE` (serve_cmd)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from newsflow.cli import output
from newsflow.cli.app import (
    DataDirOption,
    JsonOption,
    app,
    fail,
    settings_for,
    started_clusterer,
)
from newsflow.config import Settings
from newsflow.pipeline import Pipeline, stages_on, subscriptions
from newsflow.worker import BatchLimits, StopFlag, drained, run_workers


def kafka_settings_or_fail(data_dir: DataDirOption) -> Settings:
    """The settings in force; exits with a clear message when Kafka is not configured."""
    settings = settings_for(data_dir)
    if not settings.kafka.bootstrap:
        fail("this needs Kafka: set NEWSFLOW_KAFKA_BOOTSTRAP or [kafka] bootstrap")
    return settings


def batch_limits(settings: Settings) -> BatchLimits:
    kafka = settings.kafka
    return BatchLimits(kafka.batch_max_records, kafka.batch_max_wait_ms / 1000)


@app.command("status")
def status(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Show the bus in use and, on Kafka, each stage's consumer lag per partition."""
    settings = settings_for(data_dir)
    if not settings.kafka.bootstrap:
        output.say("bus: in-process (Kafka not configured)")
        return
    from connectors.kafka.errors import BusUnavailable
    from connectors.kafka.offsets import group_lag

    rows = []
    try:
        for subscription in subscriptions(settings).values():
            rows.extend(group_lag(settings.kafka, subscription.group, subscription.topics))
    except BusUnavailable as exc:
        fail(str(exc))
    if as_json:
        for row in rows:
            output.json_line(asdict(row))
        return
    table = output.table(title=f"Kafka {settings.kafka.bootstrap}: consumer lag")
    for column in ("group", "topic", "partition", "committed", "end", "lag"):
        table.add_column(column, justify="left" if column in ("group", "topic") else "right")
    for row in rows:
        committed = "-" if row.committed is None else str(row.committed)
        output.row(
            table, row.group, row.topic, str(row.partition), committed, str(row.end), str(row.lag)
        )
    output.show(table)
    output.say(f"total lag: {sum(row.lag for row in rows)}")


@app.command("reprocess")
def reprocess(
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Rewind to the oldest retained message.")
    ] = False,
    from_timestamp: Annotated[
        datetime | None,
        typer.Option("--from-timestamp", help="Rewind to the first message at or after this."),
    ] = None,
    only_index: Annotated[
        bool,
        typer.Option("--only-index", help="Re-index without re-clustering (e.g. a new store)."),
    ] = False,
    services_running: Annotated[
        bool,
        typer.Option("--services-running", help="Only rewind; the consumer services do the rest."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Re-run clustering and indexing from the retained Kafka topics (nothing is refetched).

    Rewinds the clustering group (or only the indexing group), then runs the stages in this
    process until they caught up. With --services-running, stop the services first, rewind,
    and start them again: a group's offsets can only be moved while it has no live member.
    """
    if from_beginning == (from_timestamp is not None):
        fail("give exactly one of --from-beginning and --from-timestamp")
    if from_timestamp is not None and from_timestamp.tzinfo is None:
        fail("--from-timestamp needs a timezone, e.g. 2026-11-23T09:00:00+00:00")
    settings = kafka_settings_or_fail(data_dir)
    from connectors.kafka.errors import BusUnavailable
    from connectors.kafka.offsets import rewind_group

    timestamp_ms = None if from_timestamp is None else int(from_timestamp.timestamp() * 1000)
    rewound = subscriptions(settings)["index" if only_index else "cluster"]
    try:
        offsets = rewind_group(settings.kafka, rewound.group, rewound.topics, timestamp_ms)
    except (BusUnavailable, RuntimeError) as exc:
        fail(str(exc))
    output.note(f"rewound {rewound.group} on {len(offsets)} partition(s)")
    if services_running:
        return
    clusterer = None if only_index else started_clusterer(settings)
    with Pipeline(settings, clusterer) as pipeline, StopFlag().on_signals() as stop:
        workers = [
            pipeline.worker(name) for name in (["index"] if only_index else stages_on(settings))
        ]
        run_workers(workers, stop, batch_limits(settings), until=lambda: drained(workers))
    handled = {worker.name: worker.stats.messages for worker in workers}
    output.note(f"reprocessed: {handled}")

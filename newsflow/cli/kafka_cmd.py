"""`newsflow status` (topics and consumer lag) and `newsflow reprocess` (replay from Kafka)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from newsflow.bus import Topics
from newsflow.cli.app import DataDirOption, JsonOption, app, console, fail, out, settings_for
from newsflow.config import KafkaSettings


def stage_topics(settings: KafkaSettings) -> dict[str, list[str]]:
    """The topics each consuming stage reads, by stage name (its group is `prefix.stage`)."""
    topics = Topics.from_settings(settings)
    return {"cluster": [topics.extracted], "index": [topics.clustered, topics.stories]}


@app.command("status")
def status(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Show the bus in use and, on Kafka, each stage's consumer lag per partition."""
    settings = settings_for(data_dir).kafka
    if not settings.bootstrap:
        out.print("bus: in-process (Kafka not configured)")
        return
    from connectors.kafka.client_config import group_name
    from connectors.kafka.errors import BusUnavailable
    from connectors.kafka.offsets import group_lag

    rows = []
    try:
        for stage, topics in stage_topics(settings).items():
            rows.extend(group_lag(settings, group_name(settings, stage), topics))
    except BusUnavailable as exc:
        fail(str(exc))
    if as_json:
        for row in rows:
            out.print(json.dumps(row.__dict__), highlight=False)
        return
    table = Table(title=f"Kafka {settings.bootstrap}: consumer lag")
    for column in ("group", "topic", "partition", "committed", "end", "lag"):
        table.add_column(column, justify="left" if column in ("group", "topic") else "right")
    for row in rows:
        committed = "-" if row.committed is None else str(row.committed)
        table.add_row(
            row.group, row.topic, str(row.partition), committed, str(row.end), str(row.lag)
        )
    out.print(table)
    out.print(f"total lag: {sum(row.lag for row in rows)}")


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
    data_dir: DataDirOption = None,
) -> None:
    """Re-run clustering and indexing from the retained Kafka topics (nothing is refetched).

    Rewinds the clustering group; its fresh output reaches indexing through the topics.
    Stop the consumer services first: a group's offsets can only be rewound while it is empty.
    """
    if from_beginning == (from_timestamp is not None):
        fail("give exactly one of --from-beginning and --from-timestamp")
    settings = settings_for(data_dir).kafka
    if not settings.bootstrap:
        fail("reprocess needs Kafka: set NEWSFLOW_KAFKA_BOOTSTRAP or [kafka] bootstrap")
    from connectors.kafka.client_config import group_name
    from connectors.kafka.errors import BusUnavailable
    from connectors.kafka.offsets import rewind_group

    timestamp_ms = None
    if from_timestamp is not None:
        if from_timestamp.tzinfo is None:
            fail("--from-timestamp needs a timezone, e.g. 2026-11-23T09:00:00+00:00")
        timestamp_ms = int(from_timestamp.timestamp() * 1000)
    stage = "index" if only_index else "cluster"
    group = group_name(settings, stage)
    try:
        offsets = rewind_group(settings, group, stage_topics(settings)[stage], timestamp_ms)
    except (BusUnavailable, RuntimeError) as exc:
        fail(str(exc))
    console.print(f"rewound {group} on {len(offsets)} partitions")

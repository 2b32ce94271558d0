"""The consumer services: each batch is one flow run; a failed batch is not committed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterStartTime,
)

from connectors.seeds import load_seeds
from flows.consume import offset_ranges, run_stage
from newsflow.bus import Message
from newsflow.config import load_settings
from newsflow.extract import article_from_text
from newsflow.pipeline import Pipeline
from newsflow.worker import BatchLimits, StopFlag
from schemas import Article

pytestmark = pytest.mark.usefixtures("prefect_harness", "newsflow_env")


def seed_articles(seeds_dir: Path) -> list[Article]:
    articles = [article_from_text(seed.item(), datetime.now(UTC)) for seed in load_seeds(seeds_dir)]
    assert all(isinstance(a, Article) for a in articles)
    return articles  # type: ignore[return-value]


def runs_of(flow_name: str, since: datetime) -> list[Any]:
    """Runs of `flow_name` started after `since` (the harness lives for the whole session)."""

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)),
            )

    return asyncio.run(read())


def drain(pipeline: Pipeline, stage: str, batch_size: int = 500, **options: Any) -> int:
    limits = BatchLimits(max_records=batch_size, max_wait_s=0.2)
    return run_stage(pipeline, stage, StopFlag(), limits=limits, until_idle=True, **options)


@pytest.mark.integration
def test_stages_report_each_batch_as_a_flow_run(seeds_dir: Path, tmp_path: Path) -> None:
    started = datetime.now(UTC)
    articles = seed_articles(seeds_dir)
    heartbeat = tmp_path / "heartbeat"
    with Pipeline(load_settings()) as pipeline:
        for article in articles:
            pipeline.publish(article)
        assert drain(pipeline, "cluster", batch_size=1, heartbeat=heartbeat) == 2
        assert drain(pipeline, "index") == 4  # two articles, two story updates
        stored = pipeline.store.get_articles([a.id for a in articles])
    assert heartbeat.is_file()
    assert len({a.story_id for a in stored}) == 1 and stored[0].story_id

    cluster_runs = runs_of("cluster-batch", started)
    assert len(cluster_runs) == 2  # batch_size=1: one run per article
    for run in cluster_runs:
        assert run.state.is_completed()
        assert run.state.message.startswith("1 message(s) in ")
        # The UI sees the batch's size and offsets, never the messages themselves.
        assert run.parameters["job"]["size"] == 1
        assert set(run.parameters["job"]) == {"stage", "size", "offsets"}
    [index_run] = runs_of("index-batch", started)
    assert index_run.parameters["job"]["size"] == 4


@pytest.mark.integration
def test_failed_batch_is_a_failed_run_then_retried_before_commit(
    seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = datetime.now(UTC)
    with Pipeline(load_settings()) as pipeline:
        for article in seed_articles(seeds_dir):
            pipeline.publish(article)
        drain(pipeline, "cluster")
        real_upsert = pipeline.store.upsert_articles
        outages = [ConnectionError("search store unreachable")]

        def flaky_upsert(articles: Sequence[Article]) -> Any:
            if outages:
                raise outages.pop()
            return real_upsert(articles)

        monkeypatch.setattr(pipeline.store, "upsert_articles", flaky_upsert)
        assert drain(pipeline, "index") == 3  # two articles, their story once (one batch)
        assert pipeline.store.count_articles() == 2
        # Committed only after the retry: a new member of the group has nothing left to do.
        assert drain(pipeline, "index") == 0
    failed, completed = sorted(runs_of("index-batch", started), key=lambda run: run.start_time)
    assert failed.state.is_failed() and "search store unreachable" in failed.state.message
    assert completed.state.is_completed()
    assert failed.parameters == completed.parameters  # the same batch, run again


def test_offset_ranges_per_topic_partition() -> None:
    messages = [
        Message("a", "k", b"", partition=0, offset=5),
        Message("a", "k", b"", partition=0, offset=9),
        Message("a", "k", b"", partition=1, offset=2),
        Message("b", "k", b"", partition=0, offset=0),
    ]
    assert offset_ranges(messages) == {"a[0]": "5-9", "a[1]": "2-2", "b[0]": "0-0"}

"""replay-seeds, and `newsflow replay` running it, under Prefect's test harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.replay_seeds import replay_seeds
from newsflow.cli import app
from newsflow.replay import ReplayMode

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


@pytest.mark.parametrize("mode", list(ReplayMode))
def test_replay_ingests_both_seeds_and_is_repeatable(
    mode: ReplayMode, seeds_dir: Path, newsflow_env: Path
) -> None:
    first = asyncio.run(replay_seeds(str(seeds_dir), mode))
    assert len(first.published) == 2 and not first.run_report().skips
    assert len(first.articles) == 2
    assert all(article.story_id for article in first.articles)
    assert first.handled["index"] >= 2
    again = asyncio.run(replay_seeds(str(seeds_dir), mode))
    assert len(again.published) == 2  # seen before, ingested again: a replay repeats
    if mode is ReplayMode.DIRECT:  # served URLs carry the loopback port of each run
        assert {a.id for a in again.articles} == {a.id for a in first.articles}


def test_newsflow_replay_runs_the_flow(seeds_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-data"
    result = CliRunner().invoke(
        app, ["replay", str(seeds_dir), "--mode", "direct", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "replayed 2 article(s)" in result.output
    assert (data_dir).is_dir()  # --data-dir reached the flow


def test_newsflow_replay_rejects_a_folder_without_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["replay", str(tmp_path)])
    assert result.exit_code == 1
    assert "manifest.json" in result.output

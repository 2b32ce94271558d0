"""The whole pipeline on a real broker: replay, stage services, reprocess."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsflow.bus import Topics, decode
from newsflow.cli import app
from newsflow.config import KafkaSettings, Settings
from newsflow.pipeline import Pipeline
from newsflow.replay import ReplayMode, replay
from schemas import Article, Story
from tests.kafka.services import caught_up, services, settings_env

pytestmark = pytest.mark.integration


def test_replay_goes_through_every_topic_of_the_broker(
    kafka_settings: KafkaSettings, seeds_dir: Path, tmp_path: Path, consume_messages
):
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka_settings)
    result = asyncio.run(replay(settings, seeds_dir, ReplayMode.DIRECT))

    assert len(result.articles) == 2
    [story_id] = {a.story_id for a in result.articles}
    assert story_id is not None
    assert result.handled["cluster"] == 2
    topics = Topics.from_settings(kafka_settings)
    extracted = consume_messages(kafka_settings, [topics.extracted], "check", 2, commit=False)
    clustered = consume_messages(kafka_settings, [topics.clustered], "check", 2, commit=False)
    assert (
        {m.key for m in extracted} == {m.key for m in clustered} == {a.id for a in result.articles}
    )
    assert {m.headers["newsflow.stage"] for m in extracted} == {"extract"}
    assert {m.headers["newsflow.stage"] for m in clustered} == {"cluster"}
    assert {decode(m, Article).story_id for m in clustered} == {story_id}
    stories = consume_messages(kafka_settings, [topics.stories], "check", 2, commit=False)
    assert story_id in {decode(m, Story).id for m in stories}
    assert caught_up(settings)


def test_stage_services_in_their_own_processes_serve_a_replay(
    kafka_settings: KafkaSettings, seeds_dir: Path, tmp_path: Path
):
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka_settings)
    with services(settings, "cluster", "index") as statuses:
        waiting = settings.model_copy(
            update={"kafka": kafka_settings.model_copy(update={"services_running": True})}
        )
        result = asyncio.run(replay(waiting, seeds_dir, ReplayMode.DIRECT))
        assert len(result.articles) == 2
        assert len({a.story_id for a in result.articles}) == 1
        assert result.handled == {}  # nothing ran in this process
    assert statuses == [0, 0]
    assert caught_up(settings)


def test_reprocess_reruns_clustering_and_indexing_from_the_topics(
    kafka_settings: KafkaSettings, seeds_dir: Path, tmp_path: Path, monkeypatch
):
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka_settings)
    first = asyncio.run(replay(settings, seeds_dir, ReplayMode.DIRECT))
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    for store_file in settings.data_dir.glob("newsflow.db*"):  # reprocessing refills the store
        store_file.unlink()

    for _ in range(2):  # a second run rejoins groups the first one just left
        result = CliRunner().invoke(app, ["reprocess", "--from-beginning"])
        assert result.exit_code == 0, result.output
        assert "reprocessed: {'cluster': 2, 'index':" in result.output
    with Pipeline(settings) as pipeline:
        again = pipeline.store.get_articles([a.id for a in first.articles])
    assert {(a.id, a.story_id) for a in again} == {(a.id, a.story_id) for a in first.articles}
    assert caught_up(settings)

"""The whole pipeline on a real broker: replay, stage services, reprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.kafka.offsets import group_lag
from newsflow.bus import Topics, decode
from newsflow.cli import app
from newsflow.config import KafkaSettings, Settings
from newsflow.pipeline import Pipeline, subscriptions
from newsflow.replay import ReplayMode, replay
from schemas import Article, Story

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    env = {"NEWSFLOW_DATA_DIR": str(settings.data_dir)}
    for name, value in settings.kafka.model_dump(exclude_none=True).items():
        env[f"NEWSFLOW_KAFKA_{name.upper()}"] = str(value)
    return env


def committed_everything(settings: Settings) -> bool:
    for subscription in subscriptions(settings).values():
        rows = group_lag(settings.kafka, subscription.group, subscription.topics)
        if any(row.lag for row in rows):
            return False
    return True


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
    assert committed_everything(settings)


def test_stage_services_in_their_own_processes_serve_a_replay(
    kafka_settings: KafkaSettings, seeds_dir: Path, tmp_path: Path
):
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka_settings)
    env = dict(os.environ, PYTHONPATH=str(REPO), **settings_env(settings))
    services = [
        subprocess.Popen(
            [sys.executable, "-m", "newsflow", "serve", stage],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for stage in ("cluster", "index")
    ]
    try:
        waiting = settings.model_copy(
            update={"kafka": kafka_settings.model_copy(update={"services_running": True})}
        )
        result = asyncio.run(replay(waiting, seeds_dir, ReplayMode.DIRECT))
        assert len(result.articles) == 2
        assert len({a.story_id for a in result.articles}) == 1
        assert result.handled == {}  # nothing ran in this process
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        codes = [service.wait(timeout=60) for service in services]
    assert codes == [0, 0]
    assert committed_everything(settings)


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
    assert committed_everything(settings)

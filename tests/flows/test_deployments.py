"""What `newsflow serve` serves: deployments built from the feed list; refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.feeds.lists import load_feed_list
from flows.deployments import poll_deployments, replay_deployment
from newsflow.cli import app


def test_one_scheduled_poll_deployment_per_group(repo_root: Path) -> None:
    feeds_file = repo_root / "deploy" / "feeds.yml"
    feed_list = load_feed_list(feeds_file)
    deployments = {d.name: d for d in poll_deployments(feeds_file, feed_list)}
    assert set(deployments) == {f"poll-{group}" for group in feed_list.groups()}
    for group in feed_list.groups():
        deployment = deployments[f"poll-{group}"]
        [schedule] = deployment.schedules
        assert schedule.schedule.interval == timedelta(minutes=feed_list.interval_minutes(group))
        assert deployment.parameters == {"feeds_file": str(feeds_file.resolve()), "group": group}
        assert deployment.entrypoint == "flows.poll_feeds.poll_feeds"
        # No limit: a killed poller's run would hold its slot for good (test_orphaned_run).
        assert deployment.concurrency_limit is None


def test_replay_deployment_is_on_demand(seeds_dir: Path) -> None:
    deployment = replay_deployment(seeds_dir)
    assert deployment.schedules in (None, [])
    assert deployment.entrypoint == "flows.replay_seeds.replay_seeds"
    assert deployment.parameters == {"folder": str(seeds_dir.resolve())}


def test_serve_needs_a_prefect_server(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(
        set_defaults={PREFECT_API_URL: None}, restore_defaults={PREFECT_API_URL}
    ):
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        result = CliRunner().invoke(
            app, ["serve", "--feeds", str(repo_root / "deploy" / "feeds.yml")]
        )
    assert result.exit_code == 1
    assert "PREFECT_API_URL" in result.output


def test_serve_refuses_an_unknown_stage() -> None:
    result = CliRunner().invoke(app, ["serve", "extract"])
    assert result.exit_code == 1
    assert "unknown stage 'extract'" in result.output


def test_serve_without_stage_needs_a_feed_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_FEEDS_FILE", raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "--feeds" in result.output


def test_serve_stage_needs_kafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_KAFKA_BOOTSTRAP", raising=False)
    result = CliRunner().invoke(app, ["serve", "index"])
    assert result.exit_code == 1
    assert "NEWSFLOW_KAFKA_BOOTSTRAP" in result.output

"""Against a real `prefect server start` on loopback: runs, task runs, artifacts, the UI.

The poll runs in this process with PREFECT_API_URL pointing at the server; `newsflow
replay` runs as a subprocess the way a user starts it. The UI check drives headless
Chromium (installed by scripts/ensure-chromium) and keeps its screenshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)

from flows.poll_feeds import poll_feeds
from tests.chromium import CHROMIUM_FLAGS, needs_chromium, png_size
from tests.flows.news_site import news_site
from tests.flows.polling import api, serve_env
from tests.flows.prefect_server import PrefectServer, reporting_to

pytestmark = pytest.mark.integration

SEED_PATHS = [
    "/2025/03/06/alibaba-qwq-32b-deepseek-rival",
    "/tech/alibaba-unveils-qwq-32b-reasoning-model",
]


@dataclass(frozen=True)
class PolledRun:
    flow_run_id: UUID
    name: str
    feeds: int
    items: int


@pytest.fixture(scope="module")
def polled(
    prefect_server_process: PrefectServer,
    corpus_dir: Path,
    seeds_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PolledRun]:
    """One poll-feeds run reported to the real server: two feeds over seeds and corpus pages."""
    tmp = tmp_path_factory.mktemp("poll")
    env = {
        "NEWSFLOW_DATA_DIR": str(tmp / "data"),
        "NEWSFLOW_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "NEWSFLOW_FETCH_PER_HOST_RATE": "0",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with news_site(corpus_dir, seeds_dir, corpus_pages=3) as site:
            corpus = [path for path in site.pages if path.startswith("/articles/")]
            feeds = {
                "seeds": site.add_feed("/feeds/seeds.xml", SEED_PATHS),
                "corpus": site.add_feed("/feeds/corpus.xml", corpus),
            }
            feeds_file = tmp / "feeds.yml"
            feeds_file.write_text(
                yaml.safe_dump(
                    {
                        "feeds": [
                            {"url": u, "name": n, "group": "loopback"} for n, u in feeds.items()
                        ]
                    }
                )
            )
            with reporting_to(prefect_server_process):
                state = asyncio.run(poll_feeds(str(feeds_file), "loopback", return_state=True))
                [run] = api(
                    lambda c: c.read_flow_runs(
                        flow_filter=FlowFilter(name=FlowFilterName(any_=["poll-feeds"]))
                    )
                )
                yield PolledRun(run.id, run.name, len(feeds), len(SEED_PATHS) + len(corpus))
        assert state.is_completed()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_poll_run_its_task_runs_and_artifacts_are_on_the_server(
    prefect_server: PrefectServer, polled: PolledRun
) -> None:
    [run] = api(
        lambda c: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[polled.flow_run_id]))
        )
    )
    assert run.state.is_completed()
    task_runs = api(
        lambda c: c.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[polled.flow_run_id]))
        )
    )
    # One task run for the whole round, however many feeds and articles it has.
    assert [task_run.name.rsplit("-", 1)[0] for task_run in task_runs] == ["poll-round"]
    assert all(task_run.state.is_completed() for task_run in task_runs)
    artifacts = api(
        lambda c: c.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[polled.flow_run_id])
            )
        )
    )
    assert {(a.key, a.type) for a in artifacts} == {
        ("poll-feeds-loopback-feeds", "table"),
        ("poll-feeds-loopback-stories", "markdown"),
    }
    [table] = [a for a in artifacts if a.type == "table"]
    rows = json.loads(table.data)
    assert len(rows) == polled.feeds  # what each feed gave is in the run's table
    assert sum(row["new articles"] for row in rows) == polled.items


def test_newsflow_replay_reports_to_the_server(
    prefect_server: PrefectServer, seeds_dir: Path, repo_root: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    env.update(
        PREFECT_API_URL=prefect_server.api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PYTHONPATH=str(repo_root),
    )
    replay = subprocess.run(
        [sys.executable, "-m", "newsflow", "replay", str(seeds_dir), "--data-dir", str(tmp_path)],
        env=env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    [run] = api(
        lambda c: c.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["replay-seeds"]))
        )
    )
    assert run.state.is_completed()
    artifacts = api(
        lambda c: c.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    )
    assert {a.key for a in artifacts} == {"replay-seeds-feeds", "replay-seeds-stories"}


@needs_chromium
def test_prefect_ui_shows_the_poll_run(
    prefect_server: PrefectServer, polled: PolledRun, tmp_path: Path
) -> None:
    runs_page = f"{prefect_server.url}/runs"
    browse = [
        "chromium",
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    # The page's script fetches the runs from the API and renders them; on a busy machine
    # that can outlast Chromium's virtual-time budget, so look up to three times.
    for _ in range(3):
        dom = subprocess.run(
            [*browse, "--dump-dom", runs_page], capture_output=True, text=True, timeout=120
        )
        assert dom.returncode == 0, dom.stderr[-2000:]
        if polled.name in dom.stdout:
            break
    assert polled.name in dom.stdout
    assert "poll-feeds" in dom.stdout

    screenshot = tmp_path / "prefect-runs.png"
    shot = subprocess.run(
        [*browse, f"--screenshot={screenshot}", runs_page],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert png_size(data) == (1440, 900)
    assert len(data) > 20_000  # a rendered page, not a blank canvas
    keep = os.environ.get("NEWSFLOW_SCREENSHOT_DIR")
    if keep:
        shutil.copy(screenshot, Path(keep) / screenshot.name)


def test_newsflow_serve_serves_the_poll_deployment(
    prefect_server: PrefectServer,
    corpus_dir: Path,
    seeds_dir: Path,
    repo_root: Path,
    tmp_path: Path,
) -> None:
    from tests.flows.prefect_server import free_loopback_port, wait_until

    health_port = free_loopback_port()
    env = serve_env(prefect_server, tmp_path, repo_root, tmp_path / "data")
    env.update(PREFECT_RUNNER_SERVER_ENABLE="true", PREFECT_RUNNER_SERVER_PORT=str(health_port))
    with news_site(corpus_dir, seeds_dir, corpus_pages=0) as site:
        feeds_file = tmp_path / "feeds.yml"
        feeds_file.write_text(
            yaml.safe_dump(
                {
                    "feeds": [{"url": site.add_feed("/seeds.xml", SEED_PATHS), "group": "served"}],
                    "groups": {"served": {"interval_minutes": 600}},
                }
            )
        )
        serve = subprocess.Popen(
            [sys.executable, "-m", "newsflow", "serve", "--feeds", str(feeds_file)],
            env=env,
            cwd=repo_root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            def deployment() -> Any:
                found = api(lambda c: c.read_deployments())
                return next((d for d in found if d.name == "poll-served"), None)

            served = wait_until(deployment, timeout_s=120)
            started = api(lambda c: c.create_flow_run_from_deployment(served.id))

            def finished() -> Any:
                run = api(lambda c: c.read_flow_run(started.id))
                return run if run.state.is_final() else None

            run = wait_until(finished, timeout_s=180)
            health = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flows.healthcheck",
                    "http",
                    f"http://localhost:{health_port}/health",
                ],
                cwd=repo_root,
                env=env,
                timeout=30,
            )
        finally:
            serve.terminate()
            _, errors = serve.communicate(timeout=60)
    assert run.state.is_completed(), errors[-3000:]
    [schedule] = served.schedules
    assert schedule.schedule.interval.total_seconds() == 600 * 60
    assert run.parameters["group"] == "served"
    assert site.hits["/seeds.xml"] == 1
    assert health.returncode == 0  # the compose health check of the poller
    deployments = api(lambda c: c.read_deployments())
    assert {d.name for d in deployments} == {"poll-served", "replay-seeds"}

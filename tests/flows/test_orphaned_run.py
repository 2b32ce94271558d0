"""A poller killed mid-run must not stop later polls (found by the soak benchmark).

A SIGKILLed `newsflow serve --feeds` leaves its flow run RUNNING on the Prefect server for
good. With a deployment concurrency limit that run held the only slot, and every later
scheduled poll was cancelled: the soak lost every item published after the kill. Here the
first run is held mid-round (the test takes the feed-state lock it waits for), the poller's
process group is killed, and a new poller must run a later scheduled poll that stores.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from connectors.feeds.state import FEED_STATE_LOCK
from newsflow.config import load_settings
from newsflow.pipeline import open_store
from newsflow.urls import article_id, canonicalize
from tests.flows.news_site import news_site
from tests.flows.polling import api, serve_env
from tests.flows.prefect_server import reporting_to, running_prefect_server, wait_until

pytestmark = pytest.mark.integration

PATHS = ["/2025/03/06/alibaba-qwq-32b-deepseek-rival"]


def _runs_in(state: StateType) -> list[Any] | None:
    runs = api(
        lambda c: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[state]))
            )
        )
    )
    return runs or None


def _serve(feeds_file: Path, env: dict[str, str], repo_root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsflow", "serve", "--feeds", str(feeds_file)],
        env=env,
        cwd=repo_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its flow-run processes die with it, as in a killed container
    )


def _stop(poller: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if poller.poll() is None:
        os.killpg(poller.pid, sig)
    poller.wait(timeout=60)


def test_a_poll_after_a_killed_poller_runs_and_stores(
    corpus_dir: Path, seeds_dir: Path, repo_root: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with (
        running_prefect_server(tmp_path / "prefect", scheduler=True) as server,
        reporting_to(server),
        news_site(corpus_dir, seeds_dir, corpus_pages=0) as site,
    ):
        feeds_file = tmp_path / "feeds.yml"
        feeds_file.write_text(
            yaml.safe_dump(
                {
                    "feeds": [{"url": site.add_feed("/seeds.xml", PATHS), "group": "fast"}],
                    "groups": {"fast": {"interval_minutes": 0.1}},
                }
            )
        )
        env = serve_env(server, tmp_path, repo_root, data_dir)
        env["NEWSFLOW_FETCH_POLL_FLOOR_MINUTES"] = "0.0001"
        with (data_dir / FEED_STATE_LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first run will wait here, mid-round
            first = _serve(feeds_file, env, repo_root)
            try:
                [held, *_] = wait_until(lambda: _runs_in(StateType.RUNNING), timeout_s=180)
            finally:
                _stop(first, signal.SIGKILL)
        orphan = api(lambda c: c.read_flow_run(held.id))
        assert orphan.state.type is StateType.RUNNING  # what a killed poller leaves behind
        assert site.hits["/seeds.xml"] == 0
        second = _serve(feeds_file, env, repo_root)
        try:
            [done, *_] = wait_until(lambda: _runs_in(StateType.COMPLETED), timeout_s=240)
        finally:
            _stop(second, signal.SIGTERM)
    assert done.deployment_id == held.deployment_id
    assert site.hits["/seeds.xml"] >= 1
    wanted = [article_id(canonicalize(site.base_url + path)) for path in PATHS]
    store = open_store(load_settings(data_dir=data_dir))
    try:
        assert [a.id for a in store.get_articles(wanted)] == wanted
    finally:
        store.close()

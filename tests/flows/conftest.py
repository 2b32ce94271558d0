"""Fixtures for the flow tests: Prefect's test harness and a real loopback Prefect server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from tests.flows.prefect_server import PrefectServer, running_prefect_server


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run against Prefect's temporary SQLite-backed API, for the whole session."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real `prefect server start` on a free loopback port, SQLite under a temp PREFECT_HOME."""
    with running_prefect_server(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server


@pytest.fixture()
def prefect_server(prefect_server_process: PrefectServer) -> Iterator[PrefectServer]:
    """The real server, with this test's flow runs reporting to it."""
    with temporary_settings(updates={PREFECT_API_URL: prefect_server_process.api_url}):
        yield prefect_server_process
        APILogWorker.drain_all(
            timeout=5
        )  # deliver this test's run logs while the server still listens


@pytest.fixture()
def newsflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Embedded pipeline under a temp data dir; fetches allowed to loopback, no spacing."""
    for name in ("NEWSFLOW_KAFKA_BOOTSTRAP", "NEWSFLOW_ES_URL", "NEWSFLOW_OPENSEARCH_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("NEWSFLOW_FETCH_PER_HOST_RATE", "0")
    monkeypatch.setenv("NEWSFLOW_FETCH_TOTAL_TIMEOUT_S", "20")
    return tmp_path / "data"

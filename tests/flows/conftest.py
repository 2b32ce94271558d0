"""Fixtures for the flow tests: Prefect's harness, a real Prefect server, a news site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.flows.news_site import NewsSite, news_site
from tests.flows.prefect_server import PrefectServer, reporting_to, running_prefect_server


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
    with reporting_to(prefect_server_process):
        yield prefect_server_process


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


SITE_CORPUS_PAGES = 4
# Feeds are due again at once, so back-to-back runs poll them (the schedule has its own tests).
TINY_POLL_FLOOR_MINUTES = "0.0001"


@pytest.fixture()
def site(
    corpus_dir: Path, seeds_dir: Path, newsflow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[NewsSite]:
    """A loopback news site (seeds and a few corpus pages) for poll-feeds runs."""
    monkeypatch.setenv("NEWSFLOW_FETCH_POLL_FLOOR_MINUTES", TINY_POLL_FLOOR_MINUTES)
    with news_site(corpus_dir, seeds_dir, SITE_CORPUS_PAGES) as served:
        yield served

"""Fixtures shared by every test area: paths to the repo, the shared data and the seeds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from newsflow.clustering.checkpoint import CheckpointStore
from newsflow.clustering.process import ClustererProcess
from newsflow.config import ClusterSettings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the repo (corpus, datasets, specs); tests needing it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder not found beside the repo ({SHARED.name}/)")
    return SHARED


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "html"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return REPO / "seeds"


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """Commands run in-process (`serve` calls `logging.basicConfig`) may leave a root handler
    writing to the test runner's stream, closed once the test ends: later tests would log
    "--- Logging error ---" into their own output. Each test gets back the root logger it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


StartClusterer = Callable[..., ClustererProcess]


@pytest.fixture
def start_clusterer() -> Iterator[StartClusterer]:
    """Starts the clusterer's processes, `start_clusterer(settings, stores=())`, each closed
    when the test ends."""
    started: list[ClustererProcess] = []

    def start(
        settings: ClusterSettings, stores: Sequence[CheckpointStore] = ()
    ) -> ClustererProcess:
        process = ClustererProcess(stores, settings)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()

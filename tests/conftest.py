"""Fixtures shared by every test area: paths to the repo, the shared data and the seeds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

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

"""Fixtures for the deployment checks: the repository, the shared specs, the compose file."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# The shared data sits next to the main checkout; a worktree elsewhere names it explicitly.
SHARED = Path(os.environ.get("NEWSFLOW_SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def compose_spec() -> dict[str, Any]:
    """The Compose file format's JSON Schema from the shared specs (never copied here)."""
    path = SHARED / "specs" / "compose-spec.json"
    if not path.is_file():
        pytest.skip(f"shared compose spec not found at {path} (expected <repo>/../shared)")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def compose_text() -> str:
    return (REPO / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def compose(compose_text: str) -> dict[str, Any]:
    """docker-compose.yml as YAML data (anchors and merge keys resolved)."""
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


@pytest.fixture()
def unused_loopback_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/health"

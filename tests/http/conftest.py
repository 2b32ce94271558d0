"""Fixtures of the HTTP tests: a misbehaving loopback server and fetch settings allowing it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsflow.config import FetchSettings
from tests.http.server import MisbehavingServer, running


@pytest.fixture
def web() -> Iterator[MisbehavingServer]:
    with running() as server:
        yield server


@pytest.fixture
def other_web() -> Iterator[MisbehavingServer]:
    """A second server: another host:port, with its own per-host budget."""
    with running() as server:
        yield server


@pytest.fixture
def settings() -> FetchSettings:
    """Settings that allow only 127.0.0.1, with short timeouts and no request spacing."""
    return FetchSettings(
        allowed_networks=["127.0.0.1/32"],
        connect_timeout_s=2.0,
        read_timeout_s=1.0,
        total_timeout_s=3.0,
        max_bytes=1024 * 1024,
        per_host_rate=0,
        max_redirects=3,
    )

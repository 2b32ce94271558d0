"""A real `prefect server start` on loopback, for the integration and screenshot tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PrefectServer:
    """A running server: its UI at `url`, its API at `api_url`."""

    url: str
    api_url: str
    log: Path


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_prefect_server(home: Path, *, scheduler: bool = False) -> Iterator[PrefectServer]:
    """Start `prefect server start` with its SQLite database under `home`; stop it afterwards.

    The scheduler service is off unless `scheduler` (tests start deployment runs themselves,
    so no scheduled run may race them; the soak benchmark needs the schedules).
    """
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_API_URL=f"{url}/api",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED=str(scheduler).lower(),
    )
    log = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(f"{url}/api"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield PrefectServer(url=url, api_url=f"{url}/api", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(probe: Callable[[], T | None], timeout_s: float, every_s: float = 1.0) -> T:
    """Call `probe` until it returns something; raise `TimeoutError` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing after {timeout_s:.0f}s")
        time.sleep(every_s)
    return found


@contextmanager
def reporting_to(server: PrefectServer) -> Iterator[None]:
    """Flow runs in this process report to `server` while the block runs.

    Prefect's event and log workers are process-wide and keep the API they first talked to,
    so they are drained (and rebuilt on next use) when the API changes, both ways.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def drain() -> None:
        EventsWorker.drain_all()
        APILogWorker.drain_all(timeout=5)

    drain()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        try:
            yield
        finally:
            drain()

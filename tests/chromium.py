"""Headless Debian Chromium for the UI tests (installed by scripts/ensure-chromium)."""

from __future__ import annotations

import itertools
import json
import shutil
import struct
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.flows.prefect_server import free_loopback_port, wait_until

LIVE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,900",
]
# One-shot runs (--dump-dom, --screenshot) let the page's scripts run up to 30 s of virtual time.
CHROMIUM_FLAGS = [*LIVE_FLAGS, "--virtual-time-budget=30000"]
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium missing: scripts/ensure-chromium"
)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def browse(profile: Path, *args: str) -> str:
    """Run Chromium with `args` (and a profile of its own); its stdout."""
    run = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@contextmanager
def live_page(profile: Path, url: str) -> Iterator[Callable[[str], Any]]:
    """Chromium kept open on `url` in real time; yields `evaluate(expression)`, which returns
    the expression's value in the page (through the DevTools protocol on a loopback port)."""
    port = free_loopback_port()
    profile_flags = [f"--user-data-dir={profile}", f"--remote-debugging-port={port}"]
    browser = subprocess.Popen(
        ["chromium", *LIVE_FLAGS, *profile_flags, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = wait_until(lambda: _page_target(port), timeout_s=60)
        with connect(page["webSocketDebuggerUrl"], max_size=None) as devtools:
            ids = itertools.count(1)

            def evaluate(expression: str) -> Any:
                call = next(ids)
                params = {"expression": expression, "returnByValue": True}
                devtools.send(
                    json.dumps({"id": call, "method": "Runtime.evaluate", "params": params})
                )
                while (reply := json.loads(devtools.recv(timeout=30))).get("id") != call:
                    pass
                return reply["result"]["result"].get("value")

            yield evaluate
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def _page_target(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = json.load(response)
    except OSError:
        return None
    return next((t for t in targets if t.get("type") == "page"), None)

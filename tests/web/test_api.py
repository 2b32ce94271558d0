"""The JSON API against each store: the shapes of `newsflow stories/search --json`, paging,
filters, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connectors.search import RemoteSearchStore
from newsflow.cli import app as cli
from newsflow.store import SearchStore
from tests.web import sample

pytestmark = pytest.mark.integration


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_stories_latest_and_biggest_each_with_its_articles(client: TestClient) -> None:
    latest = get(client, "/api/stories")
    assert [s["id"] for s in latest["stories"]] == [
        sample.HOSTILE_STORY,
        sample.QWQ_STORY,
        sample.RAIL_STORY,
    ]
    assert latest["page"] == 1 and latest["next_page"] is None
    qwq = latest["stories"][1]
    assert qwq["headline"] == sample.QWQ.headline
    assert qwq["sources"] == ["Copy Wire", "Example Daily", "Example Wire"]
    assert qwq["merged_from"] == [sample.MERGED_STORY]
    # oldest first, the merged story's article included, the copy pointing at its original
    assert [a["id"] for a in qwq["articles"]] == [
        a.id for a in (sample.QWQ_FIRST, sample.QWQ_MERGED, sample.QWQ_SECOND, sample.QWQ_COPY)
    ]
    assert qwq["articles"][3]["duplicate_of"] == sample.QWQ_FIRST.id
    hostile = latest["stories"][0]
    assert hostile["headline"] == sample.HOSTILE_TITLE  # JSON carries the text as it is

    biggest = get(client, "/api/stories", order="biggest")
    assert [s["id"] for s in biggest["stories"]] == [
        sample.QWQ_STORY,
        sample.HOSTILE_STORY,
        sample.RAIL_STORY,
    ]


def test_stories_page_and_filter(client: TestClient) -> None:
    first = get(client, "/api/stories", limit=2)
    assert [s["id"] for s in first["stories"]] == [sample.HOSTILE_STORY, sample.QWQ_STORY]
    assert first["next_page"] == 2
    second = get(client, "/api/stories", limit=2, page=2)
    assert [s["id"] for s in second["stories"]] == [sample.RAIL_STORY]
    assert second["next_page"] is None

    def ids(**filters: str) -> list[str]:
        return [s["id"] for s in get(client, "/api/stories", **filters)["stories"]]

    assert ids(source="Example Daily") == [sample.QWQ_STORY, sample.RAIL_STORY]
    assert ids(language="de") == [sample.QWQ_STORY]
    assert ids(since="2025-03-06T12:30:00Z") == [sample.HOSTILE_STORY]
    assert ids(since="2025-03-06", until="2025-03-06T13:00") == [sample.QWQ_STORY]
    assert ids(source="Nobody") == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/stories", {"since": "yesterday"}),
        ("/api/stories", {"order": "random"}),
        ("/api/stories", {"page": "0"}),
        ("/api/search", {}),
        ("/api/search", {"q": "x", "until": "2025-13-01"}),
    ],
)
def test_bad_requests_are_refused_as_json(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_one_story_and_the_story_merged_away(client: TestClient) -> None:
    story = get(client, f"/api/stories/{sample.QWQ_STORY}")
    assert story["id"] == sample.QWQ_STORY and len(story["articles"]) == 4
    merged = get(client, f"/api/stories/{sample.MERGED_STORY}")
    assert merged["merged_into"] == sample.QWQ_STORY and merged["articles"] == []
    assert get(client, "/api/stories/0000000000ff", status=404) == {"detail": "no such story"}


def test_search_groups_by_story_with_highlights_and_facets(client: TestClient) -> None:
    found = get(client, "/api/search", q="QwQ-32B")
    assert found["query"] == "QwQ-32B"
    [group] = found["results"]
    assert group["story_id"] == sample.QWQ_STORY
    assert group["story"]["headline"] == sample.QWQ.headline
    assert {h["id"] for h in group["hits"]} == {a.id for a in sample.ARTICLES[:4]}
    assert all(any("<em>" in f for f in h["highlights"]) for h in group["hits"])
    facets = found["facets"]
    assert facets["sources"] == [
        {"value": "Example Wire", "count": 2},
        {"value": "Copy Wire", "count": 1},
        {"value": "Example Daily", "count": 1},
    ]
    assert facets["languages"] == [{"value": "en", "count": 3}, {"value": "de", "count": 1}]
    assert facets["days"] == [{"value": "2025-03-06", "count": 4}]

    german = get(client, "/api/search", q="QwQ-32B", language="de")
    assert [h["id"] for r in german["results"] for h in r["hits"]] == [sample.QWQ_SECOND.id]
    assert german["facets"]["languages"] == [{"value": "de", "count": 1}]
    assert get(client, "/api/search", q="nothing-like-this")["results"] == []


def test_latest_and_health(client: TestClient) -> None:
    assert get(client, "/api/latest") == {
        "story_id": sample.HOSTILE_STORY,
        "last_seen": sample.HOSTILE_STORY_RECORD.last_seen.isoformat(),
    }
    assert get(client, "/api/health") == {"status": "ok", "articles": len(sample.ARTICLES)}


def _cli_lines(store: SearchStore, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    env = {"NEWSFLOW_DATA_DIR": str(tmp_path)}
    if isinstance(store, RemoteSearchStore):
        if store.backend.name != "OpenSearch":
            pytest.skip("the CLI's Elasticsearch client needs a real Elasticsearch, not osmem")
        env["NEWSFLOW_OPENSEARCH_URL"] = store.backend.url
        env["NEWSFLOW_SEARCH_INDEX_PREFIX"] = store.articles.alias.removesuffix("articles")
    result = CliRunner().invoke(cli, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_api_records_are_the_cli_json_lines(
    store: SearchStore, client: TestClient, tmp_path: Path
) -> None:
    assert get(client, "/api/stories")["stories"] == _cli_lines(store, tmp_path, "stories")
    assert get(client, "/api/search", q="QwQ-32B")["results"] == _cli_lines(
        store, tmp_path, "search", "QwQ-32B"
    )

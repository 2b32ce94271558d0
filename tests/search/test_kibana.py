"""The Kibana saved objects, and `newsflow kibana-setup` against a loopback Kibana stand-in."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.kibana import retarget
from connectors.search.templates import mapped_fields
from newsflow.cli import app

SAVED_OBJECTS = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "newsflow.ndjson"
DATA_VIEW_KINDS = {"newsflow-articles": "articles", "newsflow-stories": "stories"}
SECRET = "kibana-pa55-never-shown"


def saved_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text("utf-8").splitlines()]


def is_mapped(kind: str, path: str) -> bool:
    """`path` (`field` or `field.subfield`) is mapped in the `kind` template."""
    name, _, sub = path.partition(".")
    mapping = mapped_fields(kind).get(name)
    return mapping is not None and (not sub or sub in mapping.get("fields", {}))


def fields_used(saved: dict[str, Any]) -> set[str]:
    attributes = saved["attributes"]
    if saved["type"] == "index-pattern":
        return {attributes["timeFieldName"]}
    if saved["type"] == "search":
        return set(attributes["columns"]) | {column for column, _ in attributes["sort"]}
    if saved["type"] == "visualization":
        aggs = json.loads(attributes["visState"])["aggs"]
        return {agg["params"]["field"] for agg in aggs if "field" in agg["params"]}
    return set()


def data_view_of(saved: dict[str, Any], by_id: dict[tuple[str, str], dict[str, Any]]) -> str:
    if saved["type"] == "index-pattern":
        return str(saved["attributes"]["title"])
    (reference,) = [r for r in saved["references"] if r["type"] == "index-pattern"]
    return str(by_id[("index-pattern", reference["id"])]["attributes"]["title"])


def test_saved_objects_reference_only_what_they_define_and_mapped_fields() -> None:
    objects = saved_objects()
    by_id = {(o["type"], o["id"]): o for o in objects}
    assert len(by_id) == len(objects), "duplicate saved object ids"
    assert {t for t, _ in by_id} == {"index-pattern", "search", "visualization", "dashboard"}
    for saved in objects:
        for reference in saved["references"]:
            assert (reference["type"], reference["id"]) in by_id, (saved["id"], reference)
        searchsource = saved["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if searchsource:
            ref_name = json.loads(searchsource).get("indexRefName")
            assert ref_name is None or ref_name in {r["name"] for r in saved["references"]}
    dashboard = by_id[("dashboard", "newsflow-overview")]
    panel_refs = {p["panelRefName"] for p in json.loads(dashboard["attributes"]["panelsJSON"])}
    assert panel_refs == {r["name"] for r in dashboard["references"]}
    for saved in objects:
        if saved["type"] == "dashboard":
            continue
        kind = DATA_VIEW_KINDS[data_view_of(saved, by_id)]
        unmapped = {f for f in fields_used(saved) if not is_mapped(kind, f)}
        assert not unmapped, f"{saved['id']} uses fields the {kind} template lacks: {unmapped}"


def test_retarget_moves_data_views_to_another_prefix() -> None:
    moved = [
        json.loads(line)
        for line in retarget(SAVED_OBJECTS.read_text("utf-8"), "prod-").splitlines()
    ]
    titles = {o["attributes"]["title"] for o in moved if o["type"] == "index-pattern"}
    assert titles == {"prod-articles", "prod-stories"}
    assert [o["id"] for o in moved] == [o["id"] for o in saved_objects()]


@dataclass
class FakeKibana:
    """Records import requests and answers with `status` and `reply`."""

    url: str = ""
    status: int = 200
    reply: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            fake.requests.append((self.path, dict(self.headers.items()), body))
            payload = json.dumps(fake.reply).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def run_setup(kibana: FakeKibana) -> Any:
    env = {
        "NEWSFLOW_KIBANA_URL": kibana.url,
        "NEWSFLOW_ES_USERNAME": "elastic",
        "NEWSFLOW_ES_PASSWORD": SECRET,
    }
    return CliRunner().invoke(app, ["kibana-setup"], env=env)


@pytest.mark.integration
def test_kibana_setup_posts_the_saved_objects(kibana: FakeKibana) -> None:
    ids = [o["id"] for o in saved_objects()]
    kibana.reply = {
        "success": True,
        "successCount": len(ids),
        "successResults": [{"id": i} for i in ids],
    }
    result = run_setup(kibana)
    assert result.exit_code == 0, result.output
    assert f"imported {len(ids)} saved objects" in result.output
    ((path, headers, body),) = kibana.requests
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true"
    expected_auth = base64.b64encode(f"elastic:{SECRET}".encode()).decode()
    assert headers["Authorization"] == f"Basic {expected_auth}"
    assert headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="newsflow.ndjson"' in body
    assert SAVED_OBJECTS.read_bytes() in body


@pytest.mark.integration
@pytest.mark.parametrize(
    ("status", "reply", "expected"),
    [
        (401, {"message": "unauthorized"}, "refused the credentials (HTTP 401)"),
        (500, {"message": "boom"}, "answered HTTP 500: boom"),
        (
            200,
            {
                "success": False,
                "errors": [
                    {
                        "type": "dashboard",
                        "id": "newsflow-overview",
                        "error": {"type": "missing_references"},
                    }
                ],
            },
            "dashboard/newsflow-overview: missing_references",
        ),
    ],
)
def test_kibana_setup_fails_clearly(
    kibana: FakeKibana, status: int, reply: dict[str, Any], expected: str
) -> None:
    kibana.status, kibana.reply = status, reply
    result = run_setup(kibana)
    assert result.exit_code == 1
    assert expected in " ".join(result.output.split())
    assert SECRET not in result.output


def test_kibana_setup_without_url_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_KIBANA_URL", raising=False)
    result = CliRunner().invoke(app, ["kibana-setup"])
    assert result.exit_code == 1
    assert "NEWSFLOW_KIBANA_URL is not set" in result.output


def test_kibana_setup_unreachable_says_where(kibana: FakeKibana) -> None:
    kibana.url = "http://127.0.0.1:1"
    result = run_setup(kibana)
    assert result.exit_code == 1
    assert "cannot reach Kibana at http://127.0.0.1:1" in result.output

"""deploy/elasticsearch/setup-users.sh against a loopback stand-in for Elasticsearch."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("curl") is None, reason="the es-setup script needs curl"),
]

PASSWORDS = {
    "ELASTIC_PASSWORD": "elastic-secret-1",
    "KIBANA_SYSTEM_PASSWORD": "kibana-secret-1",
    "NEWSFLOW_ES_PASSWORD": "newsflow-secret-1",
}


@dataclass
class FakeElasticsearch:
    url: str
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture()
def fake_es() -> Iterator[FakeElasticsearch]:
    state = FakeElasticsearch(url="")

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization", ""),
                    "body": json.loads(body),
                }
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_PUT = _record

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def run_setup(repo: Path, es_url: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "ES_URL": es_url, **PASSWORDS, **overrides}
    return subprocess.run(
        ["bash", str(repo / "deploy" / "elasticsearch" / "setup-users.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sets_kibana_password_and_creates_the_newsflow_user(
    repo: Path, fake_es: FakeElasticsearch
) -> None:
    result = run_setup(repo, fake_es.url)
    assert result.returncode == 0, result.stderr
    expected_auth = "Basic " + base64.b64encode(b"elastic:elastic-secret-1").decode()
    assert {r["auth"] for r in fake_es.requests} == {expected_auth}
    calls = {(r["method"], r["path"]): r["body"] for r in fake_es.requests}
    assert calls[("POST", "/_security/user/kibana_system/_password")] == {
        "password": "kibana-secret-1"
    }
    role = calls[("PUT", "/_security/role/newsflow_writer")]
    assert role["indices"] == [{"names": ["newsflow*"], "privileges": ["all"]}]
    user = calls[("PUT", "/_security/user/newsflow")]
    assert user["password"] == "newsflow-secret-1"
    assert user["roles"] == ["newsflow_writer"]
    assert "secret" not in result.stdout + result.stderr


def test_refuses_an_unsafe_password_before_sending_anything(
    repo: Path, fake_es: FakeElasticsearch
) -> None:
    result = run_setup(repo, fake_es.url, NEWSFLOW_ES_PASSWORD='quote"breaks-json')
    assert result.returncode == 1
    assert "NEWSFLOW_ES_PASSWORD must be" in result.stderr
    assert 'quote"breaks' not in result.stderr
    assert fake_es.requests == []


def test_fails_when_elasticsearch_refuses(repo: Path, fake_es: FakeElasticsearch) -> None:
    fake_es.status = 401
    result = run_setup(repo, fake_es.url)
    assert result.returncode != 0
    assert len(fake_es.requests) == 1

"""flows.healthcheck, the probe every newsflow container's health check runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows import healthcheck


class _StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def status_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.integration
def test_http_probe_follows_the_status_code(status_server: str) -> None:
    assert healthcheck.main(["http", f"{status_server}/health"]) == 0
    assert healthcheck.main(["http", f"{status_server}/down"]) == 1


def test_http_probe_fails_when_nothing_listens(unused_loopback_url: str) -> None:
    assert healthcheck.main(["http", unused_loopback_url]) == 1


def test_heartbeat_is_fresh_after_a_touch_and_stale_after_max_age(tmp_path: Path) -> None:
    beat = tmp_path / "state" / "heartbeat"
    assert healthcheck.main(["heartbeat", str(beat), "60"]) == 1
    healthcheck.touch_heartbeat(beat)
    assert healthcheck.main(["heartbeat", str(beat), "60"]) == 0
    an_hour_ago = beat.stat().st_mtime - 3600
    os.utime(beat, (an_hour_ago, an_hour_ago))
    assert healthcheck.main(["heartbeat", str(beat), "60"]) == 1


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main(["tcp", "localhost"]) == 2
    assert "heartbeat" in capsys.readouterr().err

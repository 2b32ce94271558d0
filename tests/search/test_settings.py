"""Selecting the search backend is configuration only, and credentials never leak."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest

from connectors.search import SearchUnavailable, connect_backend, open_remote_store
from newsflow.config import SearchSettings

SECRET = "pa55-w0rd-never-shown"


def closed_port_url(userinfo: str = "") -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://{userinfo}127.0.0.1:{port}"


def test_no_url_means_no_remote_store() -> None:
    assert open_remote_store(SearchSettings(es_url=None, opensearch_url=None)) is None


def test_both_urls_is_a_configuration_error() -> None:
    settings = SearchSettings(es_url="http://127.0.0.1:1", opensearch_url="http://127.0.0.1:2")
    with pytest.raises(ValueError, match="not both"):
        connect_backend(settings)


def test_environment_selects_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_OPENSEARCH_URL", "http://127.0.0.1:9200")
    monkeypatch.setenv("NEWSFLOW_SEARCH_REFRESH_INTERVAL", "5s")
    settings = SearchSettings()
    backend = connect_backend(settings)
    assert backend is not None and backend.name == "OpenSearch"
    assert settings.search_refresh_interval == "5s"
    backend.close()


@pytest.mark.parametrize(
    "settings",
    [
        SearchSettings(es_url=closed_port_url(), es_username="u", es_password=SECRET),
        SearchSettings(es_url=closed_port_url(), es_api_key=SECRET),
        SearchSettings(es_url=closed_port_url(f"u:{SECRET}@")),
        SearchSettings(opensearch_url=closed_port_url(), es_username="u", es_password=SECRET),
        SearchSettings(opensearch_url=closed_port_url(f"u:{SECRET}@")),
    ],
    ids=["es-basic", "es-api-key", "es-url-userinfo", "os-basic", "os-url-userinfo"],
)
def test_credentials_never_appear_in_errors_or_logs(
    settings: SearchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"search_retry_max_s": 0.6})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SearchUnavailable) as raised:
        open_remote_store(settings)
    message = str(raised.value)
    assert "still failing after" in message and "127.0.0.1" in message
    assert SECRET not in message
    assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert SECRET not in caplog.text
    assert "retry" in caplog.text

"""Fixtures for the search store tests: a real osmem-server process and stores on it.

osmem-server (PyPI `osmem-server`) is an in-memory OpenSearch-compatible server binary; the
fixture starts it on a free loopback port and can kill and restart it on the same port.
Both backends run against it: OpenSearch through opensearch-py as in production, and
Elasticsearch through the official client with one test-only difference, `PlainJsonNode`,
because osmem rejects the client's `compatible-with` media types.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node._base import NodeApiResponse
from osmem_server import OsmemServer

from connectors.search import RemoteSearchStore, connect_backend, store_for
from newsflow.config import SearchSettings
from newsflow.extract import PageInput, extract_article
from newsflow.sources import SourceItem
from schemas import Article

BACKENDS = ("opensearch", "elasticsearch")
REAL_ES_ENV = "NEWSFLOW_TEST_ES_URL"
CORPUS_SAMPLE = 12
_prefixes = itertools.count()


class PlainJsonNode(Urllib3HttpNode):
    """Sends `application/json` where the client asks for `vnd.elasticsearch+json`."""

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        **kwargs: Any,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value:
                    headers[name] = value.split(";")[0].replace("vnd.elasticsearch+", "")
        return super().perform_request(method, target, body, headers, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SearchServer:
    """An osmem-server process on a fixed loopback port that a test may kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: OsmemServer | None = None
        self.start()

    def start(self) -> None:
        self.process = OsmemServer.start(addr=f"127.0.0.1:{self.port}", japanese=False)
        assert self.process.url == self.url

    def kill(self) -> None:
        assert self.process is not None
        self.process.process.kill()
        self.process.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            self.process.close()


@pytest.fixture(scope="session")
def search_server() -> Iterator[SearchServer]:
    server = SearchServer()
    yield server
    server.stop()


def settings_for(kind: str, url: str, **overrides: Any) -> SearchSettings:
    """Settings selecting `kind` at `url`, with an index prefix no other test uses."""
    target = {"es_url": url} if kind == "elasticsearch" else {"opensearch_url": url}
    values: dict[str, Any] = {
        "search_index_prefix": f"t{os.getpid()}-{next(_prefixes)}-",
        "search_retry_max_s": 20.0,
        **target,
        **overrides,
    }
    return SearchSettings(**values)


def open_store(settings: SearchSettings, *, plain_json: bool = True) -> RemoteSearchStore:
    """The store the settings select; on osmem, Elasticsearch gets the test-only node class."""
    options = {"node_class": PlainJsonNode} if settings.es_url and plain_json else {}
    backend = connect_backend(settings, **options)
    assert backend is not None
    return store_for(backend, settings)


StoreFactory = Callable[..., RemoteSearchStore]


@pytest.fixture
def make_store() -> Iterator[StoreFactory]:
    """Opens stores (`kind`, `url`, setting overrides) and closes them after the test."""
    opened: list[RemoteSearchStore] = []

    def make(kind: str, url: str, **overrides: Any) -> RemoteSearchStore:
        if kind == "real-elasticsearch":
            settings = settings_for("elasticsearch", url, **overrides)
            opened.append(open_store(settings, plain_json=False))
        else:
            opened.append(open_store(settings_for(kind, url, **overrides)))
        return opened[-1]

    yield make
    for store in opened:
        drop_indices(store)
        store.close()


def drop_indices(store: RemoteSearchStore) -> None:
    """Delete what a test created (by exact names: real clusters refuse wildcard deletes)."""
    client = store.backend.client
    for layout in (store.articles, store.story_index):
        with contextlib.suppress(Exception):
            for index in client.indices.get_alias(name=layout.alias):
                client.indices.delete(index=index)
        with contextlib.suppress(Exception):
            client.indices.delete_index_template(name=layout.template_name)


@pytest.fixture
def spawn_server() -> Iterator[Callable[[], SearchServer]]:
    """Starts osmem-server processes of the test's own (to kill), stopped after the test."""
    started: list[SearchServer] = []

    def spawn() -> SearchServer:
        started.append(SearchServer())
        return started[-1]

    yield spawn
    for server in started:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(params=[*BACKENDS, pytest.param("real-elasticsearch", marks=pytest.mark.external)])
def store(request: pytest.FixtureRequest, make_store: StoreFactory) -> RemoteSearchStore:
    """A store of each backend, with indices of its own: both on osmem, plus a real
    Elasticsearch when `NEWSFLOW_TEST_ES_URL` names one (auth from `NEWSFLOW_TEST_ES_API_KEY`,
    CA from `NEWSFLOW_TEST_ES_CA_CERT`)."""
    kind: str = request.param
    if kind != "real-elasticsearch":
        server: SearchServer = request.getfixturevalue("search_server")
        return make_store(kind, server.url)
    url = os.environ.get(REAL_ES_ENV)
    if not url:
        pytest.skip(f"{REAL_ES_ENV} is not set: no real Elasticsearch to test against")
    return make_store(
        kind,
        url,
        es_api_key=os.environ.get("NEWSFLOW_TEST_ES_API_KEY"),
        es_ca_cert=os.environ.get("NEWSFLOW_TEST_ES_CA_CERT"),
    )


@pytest.fixture(scope="session")
def corpus_articles(corpus_dir: Path) -> list[Article]:
    """Articles extracted with trafilatura from a sample of the shared corpus pages."""
    import json

    manifest = json.loads((corpus_dir.parent / "manifest.json").read_text(encoding="utf-8"))
    fetched = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
    articles = []
    for entry in sorted(manifest, key=lambda e: e["file"]):
        if not entry["url"].startswith(("http://", "https://")):
            continue  # a few manifest entries carry no usable URL
        page = PageInput((corpus_dir / entry["file"]).read_bytes(), entry["url"], fetched, None)
        outcome = extract_article(page, SourceItem(url=entry["url"]))
        if isinstance(outcome, Article) and outcome.title:
            articles.append(outcome)
        if len(articles) == CORPUS_SAMPLE:
            return articles
    pytest.fail(f"fewer than {CORPUS_SAMPLE} corpus pages extracted")

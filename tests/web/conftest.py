"""The web app over each store: SQLite, and the search store on osmem (OpenSearch client, and
the Elasticsearch client through the plain-JSON node), each loaded with `sample`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connectors.sqlite_store import SqliteStore
from newsflow.store import SearchStore
from newsflow.web import create_app
from tests.search.conftest import make_store, search_server  # noqa: F401  (fixtures)
from tests.web import sample


@pytest.fixture(params=["sqlite", "opensearch", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchStore]:
    """A store of each kind holding the sample newsroom."""
    kind: str = request.param
    if kind == "sqlite":
        local = SqliteStore.in_data_dir(tmp_path)
        sample.load(local)
        yield local
        local.close()
        return
    server = request.getfixturevalue("search_server")
    remote = request.getfixturevalue("make_store")(kind, server.url)
    sample.load(remote)
    remote.refresh()
    yield remote


@pytest.fixture
def client(store: SearchStore) -> TestClient:
    return TestClient(create_app(store))

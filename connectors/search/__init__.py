"""Elasticsearch and OpenSearch as the pipeline's search store.

`open_remote_store(settings)` picks the backend from the settings: `NEWSFLOW_ES_URL` selects
Elasticsearch, `NEWSFLOW_OPENSEARCH_URL` OpenSearch, neither means None (the caller falls back
to the embedded store). The templates are installed on opening.
"""

from __future__ import annotations

from typing import Any

from connectors.search.backend import SearchBackend, SearchStoreError, SearchUnavailable
from connectors.search.retry import RetryPolicy
from connectors.search.store import RemoteSearchStore
from newsflow.config import SearchSettings
from newsflow.store import SearchStore


def connect_backend(settings: SearchSettings, **client_options: Any) -> SearchBackend | None:
    """The client for the configured server, or None when no search server is configured."""
    if settings.es_url and settings.opensearch_url:
        raise ValueError("set either NEWSFLOW_ES_URL or NEWSFLOW_OPENSEARCH_URL, not both")
    if settings.es_url:
        from connectors.search import elasticsearch_backend

        return elasticsearch_backend.connect(settings, **client_options)
    if settings.opensearch_url:
        from connectors.search import opensearch_backend

        return opensearch_backend.connect(settings, **client_options)
    return None


def store_for(backend: SearchBackend, settings: SearchSettings) -> RemoteSearchStore:
    """A store over `backend` configured from `settings`, templates installed."""
    store = RemoteSearchStore(
        backend,
        index_prefix=settings.search_index_prefix,
        refresh_interval=settings.search_refresh_interval,
        bulk_size=settings.search_bulk_size,
        retry=RetryPolicy(max_elapsed_s=settings.search_retry_max_s),
    )
    try:
        store.install()
    except BaseException:
        store.close()
        raise
    return store


def open_remote_store(settings: SearchSettings) -> SearchStore | None:
    """The Elasticsearch or OpenSearch store the settings select, or None if neither is set."""
    backend = connect_backend(settings)
    return None if backend is None else store_for(backend, settings)


__all__ = [
    "RemoteSearchStore",
    "SearchStoreError",
    "SearchUnavailable",
    "connect_backend",
    "open_remote_store",
    "store_for",
]

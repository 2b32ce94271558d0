"""Adapter for `opensearch-py` (the optional `opensearch` extra)."""

from __future__ import annotations

from typing import Any

from connectors.search.backend import (
    SearchBackend,
    ServerError,
    connection_error,
    http_error,
)
from newsflow.config import SearchSettings
from newsflow.redact import redact


def classify(exc: BaseException) -> ServerError | None:
    """Read an `opensearchpy` exception."""
    from opensearchpy import exceptions

    if isinstance(exc, exceptions.SSLError):
        return connection_error(exc, tls=True)
    if isinstance(exc, exceptions.ConnectionError):
        return connection_error(exc, tls=False)
    if isinstance(exc, exceptions.TransportError) and isinstance(exc.status_code, int):
        return http_error(exc.status_code, exc.info, str(exc.error))
    return None


def connect(settings: SearchSettings, **client_options: Any) -> SearchBackend:
    """An OpenSearch backend for `settings.opensearch_url` (basic auth and CA from `es_*`).

    The client's own retries are off: the store retries with one bounded policy instead.
    """
    try:
        from opensearchpy import OpenSearch
    except ImportError as exc:
        raise RuntimeError(
            "NEWSFLOW_OPENSEARCH_URL is set but opensearch-py is not installed; "
            "install newsflow[opensearch]"
        ) from exc
    if not settings.opensearch_url:
        raise ValueError("NEWSFLOW_OPENSEARCH_URL is not set")
    options: dict[str, Any] = {
        "timeout": settings.search_timeout_s,
        "max_retries": 0,
        "retry_on_timeout": False,
    }
    secrets = []
    if settings.es_username and settings.es_password is not None:
        options["http_auth"] = (settings.es_username, settings.es_password.get_secret_value())
        secrets.append(options["http_auth"][1])
    if settings.es_ca_cert is not None:
        options["ca_certs"] = str(settings.es_ca_cert)
    options.update(client_options)
    client = OpenSearch(hosts=[settings.opensearch_url], **options)
    return SearchBackend(
        name="OpenSearch",
        url=redact(settings.opensearch_url),
        client=client,
        classify=classify,
        secrets=tuple(secrets),
    )

"""Adapter for the official `elasticsearch` client."""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, Elasticsearch, SSLError, TransportError

from connectors.search.backend import (
    SearchBackend,
    ServerError,
    connection_error,
    http_error,
)
from newsflow.config import SearchSettings
from newsflow.redact import redact


def classify(exc: BaseException) -> ServerError | None:
    """Read an `elasticsearch` exception (HTTP errors, and transport errors without response)."""
    if isinstance(exc, ApiError):
        return http_error(exc.meta.status, exc.body, type(exc).__name__)
    if isinstance(exc, SSLError):
        return connection_error(exc, tls=True)
    if isinstance(exc, TransportError):
        return connection_error(exc, tls=False)
    return None


def connect(settings: SearchSettings, **client_options: Any) -> SearchBackend:
    """An Elasticsearch backend for `settings.es_url`; `client_options` go to the client.

    The client's own retries are off: the store retries with one bounded policy instead.
    """
    if not settings.es_url:
        raise ValueError("NEWSFLOW_ES_URL is not set")
    options: dict[str, Any] = {
        "request_timeout": settings.search_timeout_s,
        "max_retries": 0,
        "retry_on_timeout": False,
    }
    secrets = []
    if settings.es_api_key is not None:
        options["api_key"] = settings.es_api_key.get_secret_value()
        secrets.append(options["api_key"])
    elif settings.es_username and settings.es_password is not None:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
        secrets.append(options["basic_auth"][1])
    if settings.es_ca_cert is not None:
        options["ca_certs"] = str(settings.es_ca_cert)
    options.update(client_options)
    client = Elasticsearch(settings.es_url, **options)
    return SearchBackend(
        name="Elasticsearch",
        url=redact(settings.es_url),
        client=client,
        classify=classify,
        secrets=tuple(secrets),
    )

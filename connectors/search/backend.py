"""What the store needs from a search client library, and the errors it raises.

Elasticsearch and OpenSearch clients expose the same method names and request bodies, so
the store calls them through one `SearchBackend`; each adapter module only builds its
client from the settings and says how to read that library's exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsflow.redact import redact_all


@dataclass(frozen=True)
class ServerError:
    """A failed request: its HTTP status (None when no response came back) and reason.

    `transient` failures are worth retrying: no response (connection refused or reset,
    timeout), 429 Too Many Requests, or a 5xx; a TLS handshake failure is not.
    """

    status: int | None
    error_type: str
    reason: str
    transient: bool

    def __str__(self) -> str:
        status = "no response" if self.status is None else f"HTTP {self.status}"
        return f"{status} {self.error_type}: {self.reason}"


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth retrying: 429 and every 5xx."""
    return status == 429 or status >= 500


def http_error(status: int, body: Any, fallback: str) -> ServerError:
    """Read an Elasticsearch-style error body (`{"error": {"type", "reason"}}` or a string)."""
    error = body.get("error", body) if isinstance(body, Mapping) else body
    if isinstance(error, Mapping):
        error_type, reason = str(error.get("type", fallback)), str(error.get("reason", ""))
    else:
        error_type, reason = fallback, str(error or "")
    return ServerError(status, error_type, reason, is_transient_status(status))


def connection_error(exc: BaseException, *, tls: bool) -> ServerError:
    """A request that got no response; retried unless the TLS handshake failed."""
    return ServerError(None, type(exc).__name__, str(exc), transient=not tls)


class SearchStoreError(RuntimeError):
    """The search server refused a request; retrying the same request would not help."""

    def __init__(self, message: str, error: ServerError) -> None:
        super().__init__(message)
        self.error = error


class SearchUnavailable(RuntimeError):
    """The search server stayed unreachable or overloaded for the whole retry budget."""


@dataclass
class SearchBackend:
    """A connected client of either library, plus how to read its failures.

    `classify` turns the library's exception into a `ServerError`, or None for exceptions
    that are not about the server (programming errors, which propagate unchanged).
    `secrets` are masked out of every message the store builds from a server error.
    """

    name: str
    url: str
    client: Any
    classify: Callable[[BaseException], ServerError | None]
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """`text` without credentials: no secret values, none of `newsflow.redact`'s patterns."""
        return redact_all(text, self.secrets)

    def close(self) -> None:
        self.client.close()

"""The CLI's last line of defence: a known failure is one clear error line, not a traceback.

Commands turn the failures they expect into `fail(...)` themselves; anything of the kinds
below that still escapes a command (a corrupt store, an unreachable server, a bad file) is
caught by `ReportingGroup` around every command and printed, redacted, as `error: ...`
with exit status 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import typer
from typer.core import TyperGroup

from newsflow.cli import output
from newsflow.redact import redact

EXIT_FAILURE = 1


def user_error_types() -> tuple[type[BaseException], ...]:
    """The failures a user can cause or fix; imported on demand, so start-up stays light."""
    from kafka.errors import KafkaError

    from connectors.feeds.discovery import SitemapError
    from connectors.feeds.lists import FeedListError
    from connectors.feeds.parse import FeedError
    from connectors.http.errors import FetchError
    from connectors.kafka.client_config import KafkaNotConfigured
    from connectors.kafka.errors import BusUnavailable, DeliveryFailed
    from connectors.kibana import KibanaError
    from connectors.search.backend import SearchStoreError, SearchUnavailable
    from connectors.seeds import SeedError
    from newsflow.clustering.snapshot import SnapshotError
    from newsflow.config import ConfigError
    from newsflow.linking.embedder import LinkingUnavailable
    from newsflow.linking.state import LinkStateError

    return (
        OSError,
        sqlite3.Error,
        KafkaError,
        BusUnavailable,
        DeliveryFailed,
        KafkaNotConfigured,
        SearchStoreError,
        SearchUnavailable,
        KibanaError,
        FetchError,
        FeedError,
        FeedListError,
        SitemapError,
        SeedError,
        SnapshotError,
        ConfigError,
        LinkingUnavailable,
        LinkStateError,
    )


def describe(exc: BaseException) -> str:
    """One line about `exc`, credentials masked."""
    if isinstance(exc, sqlite3.Error):
        text = f"the local store cannot be used ({exc}); check --data-dir / NEWSFLOW_DATA_DIR"
    else:
        text = str(exc) or type(exc).__name__
    return redact(" ".join(text.split()))


class ReportingGroup(TyperGroup):
    """The command group that reports known failures of any command as one error line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not isinstance(exc, user_error_types()):
                raise
            output.error(describe(exc))
            raise typer.Exit(EXIT_FAILURE) from None

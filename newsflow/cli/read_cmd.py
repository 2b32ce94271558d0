"""`newsflow search` and `newsflow stories`: read what the pipeline stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from connectors.sqlite_store import SqliteStore
from newsflow.cli.app import DataDirOption, JsonOption, app, fail, settings_for
from newsflow.cli.show import print_results, print_stories
from newsflow.config import Settings
from newsflow.pipeline import open_store
from newsflow.store import SearchQuery, SearchStore

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
SinceOption = Annotated[
    datetime | None, typer.Option(formats=_DATE_FORMATS, help="From this time (UTC if no zone).")
]
UntilOption = Annotated[
    datetime | None, typer.Option(formats=_DATE_FORMATS, help="Before this time (UTC if no zone).")
]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="How many stories at most.")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _existing_store(settings: Settings) -> SearchStore:
    """The store to read from. Reading never creates a local store: a mistyped --data-dir is
    an error, not a new empty store that answers "nothing found"."""
    remote = settings.search.es_url or settings.search.opensearch_url
    if not remote and not (settings.data_dir / SqliteStore.FILE_NAME).is_file():
        fail(f"no newsflow store in {settings.data_dir} (check --data-dir / NEWSFLOW_DATA_DIR)")
    return open_store(settings)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="Words to look for; all must match.")],
    source: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language (ISO 639-1).")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 10,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Full-text search, results grouped by story with highlighted matches."""
    store = _existing_store(settings_for(data_dir))
    try:
        results = store.search(
            SearchQuery(query, source, language, _utc(since), _utc(until), limit)
        )
        if not results and not as_json:
            fail(f"nothing matches {query!r}")
        print_results(results, as_json=as_json)
    finally:
        store.close()


@app.command("stories")
def stories_command(
    order: Annotated[str, typer.Option(help="latest (last seen first) or biggest.")] = "latest",
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 20,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List stories with their articles, latest or biggest first."""
    if order not in ("latest", "biggest"):
        fail("--order must be 'latest' or 'biggest'")
    store = _existing_store(settings_for(data_dir))
    try:
        stories = store.stories(since=_utc(since), until=_utc(until), order=order, limit=limit)
        print_stories(store, stories, as_json=as_json)
    finally:
        store.close()

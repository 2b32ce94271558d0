"""The `newsflow` Typer application and the options every command shares.

Commands live in the sibling modules, one module per area; each registers itself on `app`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from connectors.feeds.lists import FeedList, FeedListError, load_feed_list
from newsflow.cli import output
from newsflow.cli.errors import ReportingGroup
from newsflow.config import CONFIG_ENV, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from newsflow.clustering.process import ClustererProcess

app = typer.Typer(
    name="newsflow",
    help="Poll news sources, extract articles, cluster them into stories, search them.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    cls=ReportingGroup,
)
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Local state and store directory [env: NEWSFLOW_DATA_DIR]."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]


@app.callback()
def _global_options(
    config: Annotated[
        Path | None,
        typer.Option("--config", help=f"TOML config file [env: {CONFIG_ENV}].", exists=True),
    ] = None,
) -> None:
    if config is not None:
        os.environ[CONFIG_ENV] = str(config)


def settings_for(data_dir: Path | None = None) -> Settings:
    """The settings in force, with command-line overrides; exits cleanly on a bad config."""
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    try:
        return load_settings(**overrides)
    except (ConfigError, ValueError) as exc:
        fail(f"configuration error: {exc}")


def started_clusterer(settings: Settings) -> ClustererProcess:
    """The clusterer's process, restored from its saved state; exits with a clear error,
    before any work starts, when that state cannot be restored with these settings (the
    cluster stage would otherwise fail mid-run)."""
    from newsflow.cluster_state import start_clusterer
    from newsflow.clustering.snapshot import SnapshotError

    try:
        return start_clusterer(settings)
    except SnapshotError as exc:
        fail(str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error for the user and exit non-zero."""
    output.error(message)
    raise typer.Exit(code)


def feed_list_from(path: Path) -> FeedList:
    """The feed list in `path`; exits with a clear error when unreadable or empty."""
    try:
        feed_list = load_feed_list(path)
    except FeedListError as exc:
        fail(f"{path}: {exc}")
    if not feed_list.feeds:
        fail(f"{path} lists no feeds")
    return feed_list

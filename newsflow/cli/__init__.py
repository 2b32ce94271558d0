"""The `newsflow` command line. Importing the command modules registers their commands."""

from newsflow.cli import (  # noqa: F401
    cluster_cmd,
    config_cmd,
    feeds_cmd,
    ingest_cmd,
    kafka_cmd,
    read_cmd,
    search_cmd,
    serve_cmd,
    web_cmd,
)
from newsflow.cli.app import app


def main() -> None:
    """Entry point of the `newsflow` console script."""
    app()


__all__ = ["app", "main"]

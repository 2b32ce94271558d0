"""The `newsflow` command line. Importing the command modules registers their commands."""

from newsflow.cli import config_cmd, ingest_cmd, read_cmd  # noqa: F401
from newsflow.cli.app import app


def main() -> None:
    """Entry point of the `newsflow` console script."""
    app()


__all__ = ["app", "main"]

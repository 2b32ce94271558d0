"""`newsflow kibana-setup`: load the Kibana data views, saved search and dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectors.kibana import KibanaError, import_saved_objects, retarget
from newsflow.cli import output
from newsflow.cli.app import app, fail, settings_for

SAVED_OBJECTS = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "newsflow.ndjson"


@app.command("kibana-setup")
def kibana_setup(
    file: Annotated[
        Path,
        typer.Option("--file", help="Saved objects to import (ndjson).", dir_okay=False),
    ] = SAVED_OBJECTS,
) -> None:
    """Import newsflow's Kibana saved objects into NEWSFLOW_KIBANA_URL (overwriting)."""
    settings = settings_for().search
    try:
        ndjson = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read saved objects {file}: {exc.strerror}")
    try:
        result = import_saved_objects(settings, retarget(ndjson, settings.search_index_prefix))
    except KibanaError as exc:
        fail(str(exc))
    output.note(f"imported {result.imported} saved objects: {', '.join(result.object_ids)}")

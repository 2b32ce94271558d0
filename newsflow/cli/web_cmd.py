"""`newsflow web`: the story web UI and JSON API over the store in use.

FastAPI, Jinja2 and uvicorn are imported inside the command, so the other commands start
without them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from newsflow.cli import output
from newsflow.cli.app import DataDirOption, app, settings_for
from newsflow.pipeline import open_store

DEFAULT_HOST = "127.0.0.1"


@app.command("web")
def web_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 exposes it to the network.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the river of stories, story pages, search and /api/ (stop: Ctrl-C or SIGTERM)."""
    import uvicorn

    from newsflow.web import create_app

    store = open_store(settings_for(data_dir))
    try:
        output.note(f"newsflow web on http://{host}:{port}/")
        uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
    finally:
        store.close()

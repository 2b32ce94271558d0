"""`newsflow config`: print the effective settings."""

from __future__ import annotations

import json

from newsflow.cli.app import DataDirOption, app, out, settings_for
from newsflow.config import config_file_path


@app.command("config")
def show_config(data_dir: DataDirOption = None) -> None:
    """Print the effective settings as JSON, secrets masked."""
    settings = settings_for(data_dir)
    source = config_file_path()
    payload = {
        "config_file": str(source) if source else None,
        "settings": json.loads(settings.model_dump_json()),
    }
    out.print_json(json.dumps(payload))

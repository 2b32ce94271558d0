"""`newsflow config`: print the effective settings."""

from __future__ import annotations

from typing import Any

from newsflow.cli import output
from newsflow.cli.app import DataDirOption, app, settings_for
from newsflow.config import config_file_path
from newsflow.redact import redact


@app.command("config")
def show_config(data_dir: DataDirOption = None) -> None:
    """Print the effective settings as JSON, secrets masked."""
    settings = settings_for(data_dir)
    source = config_file_path()
    payload = {
        "config_file": str(source) if source else None,
        "settings": settings.model_dump(mode="json"),  # SecretStr fields dump as "**********"
    }
    output.json_line(masked(payload), indent=2)


def masked(value: Any) -> Any:
    """`value` with every string redacted (user info in URLs, tokens), however deep."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value

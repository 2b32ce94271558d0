"""The story web UI (`newsflow web`): server-rendered pages and a JSON API over a SearchStore."""

from newsflow.web.app import create_app

__all__ = ["create_app"]

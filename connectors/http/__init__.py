"""The HTTP layer: a defensive, polite fetcher for pages and feeds.

`Fetcher.fetch` returns a `Page` or raises `FetchError` carrying a `SkipReason`.
"""

from connectors.http.errors import FetchError
from connectors.http.fetcher import Fetcher, user_agent
from connectors.http.headers import Accept
from connectors.http.page import Page
from newsflow.config import FetchSettings

__all__ = ["Accept", "FetchError", "FetchSettings", "Fetcher", "Page", "user_agent"]

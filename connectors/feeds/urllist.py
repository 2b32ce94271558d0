"""Plain URL lists: one article URL per line, `#` starts a comment."""

from __future__ import annotations

from newsflow.sources import SourceItem


def parse_url_list(
    text: str, *, list_url: str | None = None, source: str | None = None
) -> list[SourceItem]:
    """The URLs of a plain-text list, in order, blank lines and comments skipped."""
    items = []
    for line in text.splitlines():
        url = line.strip()
        if url and not url.startswith("#"):
            items.append(SourceItem(url=url, source=source, feed_url=list_url))
    return items

"""The identities of a feed entry, for telling new entries from ones seen before (pure).

Feeds change GUIDs, republish old entries and reorder them, so an entry has three keys: its
GUID, its canonical URL and a hash of its title. It is new only if none was seen for its feed.
"""

from __future__ import annotations

from newsflow.sources import SourceItem
from newsflow.text import content_hash
from newsflow.urls import canonicalize

ItemKey = tuple[str, str]


def item_keys(item: SourceItem) -> list[ItemKey]:
    """The (kind, value) keys of an entry: guid, canonical url, title hash (when present)."""
    keys: list[ItemKey] = []
    if item.guid and item.guid.strip():
        keys.append(("guid", item.guid.strip()))
    try:
        keys.append(("url", canonicalize(item.url)))
    except ValueError:
        keys.append(("url", item.url.strip()))
    if item.title and item.title.strip():
        keys.append(("hash", content_hash(item.title)))
    return keys


def new_items(items: list[SourceItem], seen: set[ItemKey]) -> list[SourceItem]:
    """The entries none of whose keys is in `seen`, also dropping repeats within the list."""
    fresh: list[SourceItem] = []
    taken = set(seen)
    for item in items:
        keys = item_keys(item)
        if taken.isdisjoint(keys):
            fresh.append(item)
        taken.update(keys)
    return fresh

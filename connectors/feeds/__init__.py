"""Feeds: everything about where articles are listed, from a feed list to the items of a poll.

- `lists`: feed lists (YAML or OPML) -> `FeedSpec`s, grouped by polling interval.
- `parse`: RSS/Atom/JSON Feed bytes -> `SourceItem`s (pure).
- `urllist`: plain URL lists -> `SourceItem`s (pure).
- `discovery`: feed links in HTML pages and news-sitemap entries (pure).
- `body`: a fetched feed body (any of the above) -> items or a `Skip`, never an exception.
- `seen`: the identities of an entry, to tell new entries from old ones (pure).
- `schedule`: when to poll a feed next (pure).
- `state`: per-feed state kept across runs (SQLite under the data dir).
- `poll`: `FeedPoller`, one feed polled with conditional GET and its state.
"""

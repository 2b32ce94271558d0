"""A loopback site serving corpus pages and a plain URL list of them, for `newsflow run`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.static_site import Site, serve


@contextmanager
def url_list_feeds(corpus_dir: Path, pages: slice, folder: Path) -> Iterator[Path]:
    """While the block runs, the corpus pages `pages` (in name order) and `/list.txt` naming
    them are served on loopback; yields a feed list file in `folder` with that URL list."""
    site = Site()
    names = sorted(p.name for p in corpus_dir.glob("*.html"))[pages]
    for name in names:
        site.add(f"/{name}", "text/html; charset=utf-8", (corpus_dir / name).read_bytes())
    with serve(site) as base_url:
        site.add("/list.txt", "text/plain", "\n".join(f"{base_url}/{n}" for n in names).encode())
        feeds = folder / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - {{url: {base_url}/list.txt, kind: urls}}\n")
        yield feeds

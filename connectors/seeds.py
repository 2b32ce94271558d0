"""The seeds replay fixture: plain-text articles plus a manifest, replayed two ways.

- *direct*: each text goes straight into the pipeline as a source item carrying its body;
- *served*: `seed_site` renders the texts as HTML pages plus an RSS feed, which a loopback
  HTTP server (`connectors.static_site`) serves, so the real fetch and extraction path runs.

`manifest.json` lists, for each file, the outlet, a URL on a reserved domain and the
publication time: what a feed would have said about the article.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.static_site import Site
from newsflow.sources import SourceItem
from newsflow.text import headline_and_body, paragraphs

MANIFEST = "manifest.json"
FEED_PATH = "/feed.xml"


class SeedError(ValueError):
    """A seeds folder that cannot be replayed."""


class _ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    outlet: str
    url: str
    published_at: datetime


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    articles: list[_ManifestEntry]


@dataclass(frozen=True)
class Seed:
    """One replayable article: its text and what the manifest says about it."""

    outlet: str
    url: str
    published_at: datetime
    text: str

    def item(self) -> SourceItem:
        """The seed as a direct source item, carrying its text."""
        return SourceItem(
            url=self.url, source=self.outlet, published_at=self.published_at, text=self.text
        )

    @property
    def path(self) -> str:
        """The path of the seed's URL, where the served site publishes it."""
        return urlsplit(self.url).path


def load_seeds(folder: Path) -> list[Seed]:
    """Read the manifest and the texts it lists; raise `SeedError` on anything missing."""
    manifest_path = folder / MANIFEST
    try:
        manifest = _Manifest.model_validate_json(manifest_path.read_bytes())
    except FileNotFoundError as exc:
        raise SeedError(f"{manifest_path} does not exist") from exc
    except ValidationError as exc:
        raise SeedError(f"{manifest_path} is not a valid seeds manifest: {exc}") from exc
    seeds = []
    for entry in manifest.articles:
        try:
            text = (folder / entry.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"cannot read seed {entry.file}: {exc}") from exc
        seeds.append(Seed(entry.outlet, entry.url, entry.published_at, text))
    return seeds


def seed_site(seeds: list[Seed]) -> Site:
    """The seeds as a small news site: one HTML page each and an RSS feed at `/feed.xml`.

    Links in the feed are relative to the site, so the site can be served on any address.
    """
    site = Site()
    items = []
    for seed in seeds:
        title, body = headline_and_body(seed.text)
        page = _page(seed, title, body)
        site.add(seed.path, "text/html; charset=utf-8", page.encode("utf-8"))
        items.append(
            f"<item><title>{escape(title)}</title><link>{escape(seed.path)}</link>"
            f'<guid isPermaLink="false">{escape(seed.url)}</guid>'
            f"<pubDate>{format_datetime(seed.published_at)}</pubDate>"
            f'<source url="{escape(seed.url)}">{escape(seed.outlet)}</source></item>'
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>newsflow seeds</title><link>/</link>"
        "<description>Replay fixture</description>" + "".join(items) + "</channel></rss>\n"
    )
    site.add(FEED_PATH, "application/rss+xml; charset=utf-8", feed.encode("utf-8"))
    return site


def _page(seed: Seed, title: str, body: str) -> str:
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs(body))
    published = seed.published_at.isoformat()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<meta property="og:site_name" content="{escape(seed.outlet)}">
<meta property="article:published_time" content="{published}">
</head><body>
<header><nav><a href="/">Home</a></nav></header>
<article><h1>{escape(title)}</h1>
<p class="byline"><time datetime="{published}">{published[:10]}</time></p>
{paras}
</article>
<footer><p>Replay fixture served by newsflow.</p></footer>
</body></html>
"""

"""Finding sources: feed links in HTML pages and entries of news sitemaps (parsing only).

Both parsers take bytes the fetcher already downloaded and capped; neither resolves
entities nor touches the network.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from newsflow.sources import SourceItem

FEED_LINK_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


class SitemapError(ValueError):
    """Bytes that are not a news sitemap we can read."""


def discover_feeds(html: bytes, page_url: str) -> list[str]:
    """Feed URLs a page announces with `<link rel="alternate" type="...feed type...">`."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = page_url
    for element in doc.iter("base"):
        if element.get("href"):
            base = urljoin(page_url, element.get("href"))
            break
    found: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_LINK_TYPES and href:
            url = urljoin(base, href)
            if url.startswith(("http://", "https://")) and url not in found:
                found.append(url)
    return found


def looks_like_news_sitemap(content: bytes) -> bool:
    """True when the document head is a sitemap `<urlset>` using the news namespace."""
    head = content[:2048]
    return b"<urlset" in head and NEWS_NS.encode() in head


def parse_news_sitemap(content: bytes, sitemap_url: str) -> list[SourceItem]:
    """The `<url>` entries of a news sitemap that carry `<news:news>`, as source items."""
    if b"<!DOCTYPE" in content[:4096].upper():
        raise SitemapError("sitemap with a DOCTYPE is refused (entity declarations are unsafe)")
    try:
        root = etree.fromstring(content, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not valid XML: {exc}") from exc
    if root is None or root.tag != f"{{{SITEMAP_NS}}}urlset":
        raise SitemapError("not a sitemap (no <urlset> root)")
    items = []
    for entry in root.iter(f"{{{SITEMAP_NS}}}url"):
        loc = (entry.findtext(f"{{{SITEMAP_NS}}}loc") or "").strip()
        news = entry.find(f"{{{NEWS_NS}}}news")
        if not loc or news is None:
            continue
        items.append(
            SourceItem(
                url=urljoin(sitemap_url, loc),
                source=(news.findtext(f"{{{NEWS_NS}}}publication/{{{NEWS_NS}}}name") or "").strip()
                or None,
                feed_url=sitemap_url,
                title=(news.findtext(f"{{{NEWS_NS}}}title") or "").strip() or None,
                published_at=_w3c_time(news.findtext(f"{{{NEWS_NS}}}publication_date")),
            )
        )
    return items


def _w3c_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

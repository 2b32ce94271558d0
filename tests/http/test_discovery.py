"""Feed autodiscovery, news sitemaps and OPML export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.feeds.discovery import (
    SitemapError,
    discover_feeds,
    looks_like_news_sitemap,
    parse_news_sitemap,
)
from connectors.feeds.lists import FeedSpec, export_opml, parse_opml

PAGE = b"""<html><head>
<base href="https://news.example/section/">
<link rel="alternate" type="application/rss+xml" href="rss.xml">
<link rel="Alternate home" type="application/atom+xml; charset=utf-8" href="/atom">
<link rel="alternate" type="text/html" href="/fr/">
<link rel="stylesheet" type="text/css" href="/s.css">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="rss.xml">
</head><body></body></html>"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example/a</loc>
    <news:news><news:publication><news:name>Example News</news:name>
      <news:language>en</news:language></news:publication>
      <news:publication_date>2026-11-23T08:00:00Z</news:publication_date>
      <news:title>Storm hits coast</news:title></news:news></url>
  <url><loc>https://news.example/about</loc></url>
</urlset>"""


def test_autodiscovery_finds_feed_links_only() -> None:
    assert discover_feeds(PAGE, "https://news.example/page") == [
        "https://news.example/section/rss.xml",
        "https://news.example/atom",
    ]


def test_autodiscovery_on_garbage_finds_nothing() -> None:
    assert discover_feeds(b"\x00\xff not html", "https://news.example/") == []


def test_news_sitemap_entries() -> None:
    assert looks_like_news_sitemap(SITEMAP)
    [item] = parse_news_sitemap(SITEMAP, "https://news.example/sitemap.xml")
    assert item.url == "https://news.example/a"
    assert item.title == "Storm hits coast"
    assert item.source == "Example News"
    assert item.published_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert item.feed_url == "https://news.example/sitemap.xml"


def test_sitemap_with_entities_refused() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    with pytest.raises(SitemapError):
        parse_news_sitemap(hostile + b"<urlset>&e;</urlset>", "https://news.example/s.xml")


def test_opml_export_round_trips() -> None:
    feeds = [
        FeedSpec(url="https://a.example/rss", name="A & Co"),
        FeedSpec(url="https://b.example/atom", name="B", group="tech"),
        FeedSpec(url="https://c.example/feed", group="tech"),
    ]
    back = parse_opml(export_opml(feeds)).feeds
    assert [(f.url, f.group) for f in back] == [(f.url, f.group) for f in feeds]
    assert back[0].name == "A & Co"
    assert back[2].name == "https://c.example/feed"

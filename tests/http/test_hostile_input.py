"""Malformed and random bytes into the feed reader and the extractor: never a crash.

Every input ends as items/an article or as a `Skip` carrying a reason code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.feeds.body import read_feed
from newsflow.extract import PageInput, extract_article
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from schemas import Article

FEED_URL = "https://feeds.example/rss"
RSS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
ITEM = b"<item><title>A</title><link>https://news.example/a</link><guid>a</guid></item>"
HTML_HEAD = b"<html><head><title>T</title></head><body><article><p>"

fragments = st.sampled_from(
    [
        RSS_HEAD,
        ITEM,
        b"</channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom">',
        b"<entry><link href='x'/></entry>",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
        b'{"url": 5}',
        b"<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
        b"&x;",
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">',
        b"<url><loc>/a</loc><news:news><news:title>t</news:title></news:news></url>",
        b"\xef\xbb\xbf",
        b"\x00\xff\xfe",
        HTML_HEAD,
        "Grüße – ünïcödé".encode("utf-16"),
        b"</p></article></body></html>",
    ]
)
documents = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.one_of(fragments, st.binary(max_size=64)), max_size=12).map(b"".join),
)
charsets = st.one_of(
    st.none(), st.sampled_from(["utf-8", "windows-1252", "shift_jis", "utf-16", "no-such-charset"])
)
fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(documents)
def test_feed_reader_never_crashes(content: bytes) -> None:
    result = read_feed(content, FEED_URL)
    if isinstance(result, Skip):
        assert result.reason is SkipReason.FEED_PARSE_ERROR and result.detail
    else:
        assert all(item.url and item.feed_url for item in result)
        assert not any("root:" in (item.title or "") for item in result)  # no /etc/passwd


@fuzz
@given(documents, charsets)
def test_extractor_never_crashes(content: bytes, charset: str | None) -> None:
    page = PageInput(
        content=content,
        final_url="https://news.example/a",
        fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
        charset=charset,
    )
    result = extract_article(page, SourceItem(url="https://news.example/a"))
    if isinstance(result, Skip):
        assert result.reason in {SkipReason.NO_CONTENT, SkipReason.EXTRACT_ERROR}
    else:
        assert isinstance(result, Article) and result.text

"""Article extraction: page bytes (or replayed text) into `Article` records, with trafilatura.

Pure functions: no network, no clock (the caller passes `fetched_at`).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import lxml.html
import tld
import trafilatura
from lxml import etree
from trafilatura.settings import Document

from newsflow.config import FetchSettings
from newsflow.language import language_of
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.text import content_hash, headline_and_body, lead_of
from newsflow.urls import article_id, canonicalize, host_of
from schemas import Article

MIN_TEXT_CHARS = 80
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
log = logging.getLogger("newsflow.extract")
# trafilatura crashes the process (SIGSEGV) when several threads extract at once
# (adbar/trafilatura#840, #925, still open in 2.2): one extraction at a time per process.
_ONE_EXTRACTION_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class PageInput:
    """A fetched page: its bytes, where it ended up, and the charset the server declared."""

    content: bytes
    final_url: str
    fetched_at: datetime
    charset: str | None = None


@dataclass(frozen=True)
class ExtractBudget:
    """How much of one page is handed to trafilatura: its first `max_bytes`, and no further
    than its `max_tags`-th tag. Extraction time grows with the number of elements, and
    extractions take turns (see below), so one huge page must not hold the others up."""

    max_bytes: int
    max_tags: int

    @classmethod
    def from_settings(cls, settings: FetchSettings) -> ExtractBudget:
        """The budget configured in `[fetch]` (`extract_max_bytes`, `extract_max_tags`)."""
        return cls(settings.extract_max_bytes, settings.extract_max_tags)

    def cut(self, content: bytes) -> bytes:
        """`content` within the budget: unchanged, or cut just before a `<` (a tag start)."""
        if len(content) <= self.max_bytes and content.count(b"<") <= self.max_tags:
            return content
        end = min(len(content), self.max_bytes)
        position = -1
        for _ in range(self.max_tags + 1):
            position = content.find(b"<", position + 1, end)
            if position < 0:
                break
        if position >= 0:  # the first tag over the budget starts here
            return content[:position]
        last_tag = content.rfind(b"<", 0, end)  # over max_bytes: drop the tag cut in half
        return content[: last_tag if last_tag > 0 else end]


def extract_article(
    page: PageInput, item: SourceItem, budget: ExtractBudget | None = None
) -> Article | Skip:
    """Extract the main text and metadata of an HTML page.

    The bytes go to trafilatura undecoded; when the server declared a charset, lxml parses
    them with it (a page's own `<meta charset>` is otherwise found by trafilatura).
    Returns a `Skip` with reason `no-content` when the page has no article body, or
    `extract-error` when the HTML cannot be parsed at all. Safe to call from several threads:
    they take turns. With a `budget`, a larger page is truncated to it first (logged).
    """
    if budget is not None:
        content = budget.cut(page.content)
        if len(content) < len(page.content):
            log.info(
                "page %s cut to %d of %d bytes (extraction budget)",
                page.final_url,
                len(content),
                len(page.content),
            )
            page = replace(page, content=content)
    try:
        with _ONE_EXTRACTION_AT_A_TIME:
            document = trafilatura.bare_extraction(
                _parse_html(page), url=page.final_url, with_metadata=True, include_comments=True
            )
    except (ValueError, etree.LxmlError) as exc:
        return Skip(item.url, SkipReason.EXTRACT_ERROR, f"unparseable HTML: {exc}")
    text = _nfc(document.text) if isinstance(document, Document) else ""
    if not isinstance(document, Document) or len(text) < MIN_TEXT_CHARS:
        return Skip(item.url, SkipReason.NO_CONTENT, f"{len(text)} characters of text extracted")
    canonical = _trusted_canonical(document.url, page.final_url)
    title = _nfc(document.title) or item.title or ""
    return _article(
        item,
        canonical_url=canonical,
        text=text,
        title=title,
        source=item.source or document.sitename or host_of(canonical),
        published_at=item.published_at or _date_only(document.date),
        fetched_at=page.fetched_at,
        authors=[a.strip() for a in (document.author or "").split(";") if a.strip()],
        language=language_of(title, text, document.language),
        image=document.image,
        comments=_nfc(document.comments),
    )


def article_from_text(item: SourceItem, fetched_at: datetime) -> Article | Skip:
    """Build an article from a source item that already carries its text (direct replay).

    The title is the item's, else the one `newsflow.text.headline_and_body` finds.
    """
    headline, body = headline_and_body(unicodedata.normalize("NFC", item.text or ""))
    if len(body) < MIN_TEXT_CHARS:
        return Skip(item.url, SkipReason.NO_CONTENT, f"{len(body)} characters of text")
    try:
        canonical = canonicalize(item.url)
    except ValueError as exc:
        return Skip(item.url, SkipReason.INVALID_URL, str(exc))
    title = item.title or headline
    return _article(
        item,
        canonical_url=canonical,
        text=body,
        title=title,
        language=language_of(title, body),
        source=item.source or host_of(canonical),
        published_at=item.published_at,
        fetched_at=fetched_at,
    )


def _article(item: SourceItem, *, canonical_url: str, text: str, **fields: object) -> Article:
    return Article.model_validate(
        {
            "id": article_id(canonical_url),
            "url": item.url,
            "canonical_url": canonical_url,
            "feed_url": item.feed_url,
            "text": text,
            "lead": lead_of(text),
            "content_hash": content_hash(text),
            **fields,
        }
    )


def _nfc(value: str | None) -> str:
    """Composed Unicode (NFC), as search and comparison expect; pages often ship NFD."""
    return unicodedata.normalize("NFC", value or "").strip()


def _parse_html(page: PageInput) -> bytes | lxml.html.HtmlElement:
    """The page parsed with its declared charset, or its bytes for trafilatura to detect one.

    Decoding happens here, with replacement: a byte the charset leaves undefined (0x81 in
    windows-1252) becomes U+FFFD instead of stopping libxml2's decoder mid-page. Control
    characters XML does not allow are dropped: one in a title made trafilatura find nothing.
    """
    if not page.charset:
        return page.content
    try:
        text = page.content.decode(page.charset, errors="replace")
    except LookupError:  # a charset name Python does not know: let trafilatura detect it
        return page.content
    text = _NOT_IN_XML.sub("", text)
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    return lxml.html.fromstring(text.encode("utf-8"), parser=parser)


def _trusted_canonical(declared: str | None, final_url: str) -> str:
    """The page's declared canonical URL if it is on the same site, else the final URL.

    A page may only speak for its own site: a canonical link to another domain would let a
    hostile page take over (and overwrite) another outlet's article id.
    """
    fetched = canonicalize(final_url)
    if not declared:
        return fetched
    try:
        candidate = canonicalize(declared)
    except ValueError:
        return fetched
    if _site_of(candidate) == _site_of(fetched):
        return candidate
    return fetched


def _site_of(url: str) -> str:
    return str(tld.get_fld(url, fail_silently=True) or host_of(url))


def _date_only(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None

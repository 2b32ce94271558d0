"""Small text helpers shared by extraction and clustering (pure functions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
HEADLINE_MAX_CHARS = 200


def normalize_for_hash(text: str) -> str:
    """Text reduced to what makes two copies the same: NFKC, case-folded, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def content_hash(text: str) -> str:
    """Hash of the normalised text: equal for exact copies that differ only in spacing/case."""
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8")).hexdigest()[:32]


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of a text whose paragraphs are separated by newlines."""
    return [p.strip() for p in text.splitlines() if p.strip()]


def lead_of(text: str, min_chars: int = 200, max_chars: int = 600) -> str:
    """The opening paragraphs: at least `min_chars` when available, cut at `max_chars`."""
    lead = ""
    for paragraph in paragraphs(text):
        lead = f"{lead}\n{paragraph}" if lead else paragraph
        if len(lead) >= min_chars:
            break
    if len(lead) <= max_chars:
        return lead
    cut = lead[:max_chars]
    return cut[: cut.rfind(" ")] + "…" if " " in cut else cut


def headline_and_body(raw: str) -> tuple[str, str]:
    """Split a plain-text article into a headline and its body.

    A first paragraph short enough to be a headline and followed by a blank line is the
    headline; otherwise the whole text is the body and its first sentence stands in.
    """
    raw = raw.strip()
    first, blank_line, rest = raw.partition("\n\n")
    if blank_line and len(first) <= HEADLINE_MAX_CHARS and "\n" not in first:
        return first.strip(), rest.strip()
    first_sentence = _SENTENCE_END.split(raw.split("\n", 1)[0], maxsplit=1)[0]
    if len(first_sentence) <= HEADLINE_MAX_CHARS:
        return first_sentence, raw
    return first_sentence[:HEADLINE_MAX_CHARS].rsplit(" ", 1)[0] + "…", raw

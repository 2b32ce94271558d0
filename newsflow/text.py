"""Small text helpers shared by extraction and clustering (pure functions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


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

"""Every article's language: an ISO 639-1 code from its text, the page's word as a fallback.

Pages declare a language (`<html lang>`, `og:locale`, which trafilatura reports) far less
reliably than their text shows it: CMS templates say "en" over German articles. So the text
decides (py3langid, a naive Bayes model over byte n-grams of 97 languages, numpy only), and
a declared code counts only when the text is too short or too mixed to be sure.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Protocol

# Normalised confidence below which a declared language wins over the detected one.
SURE_ENOUGH = 0.9
# Characters of the title and text read: the lead says it; more costs time, not accuracy.
SAMPLE_CHARS = 1200
_CODE = re.compile(r"[a-z]{2,3}")


class _Identifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


@cache
def _identifier() -> _Identifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier: _Identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return identifier


def declared_code(declared: str | None) -> str | None:
    """The primary subtag of a declared language ("de-AT", "de_AT", "DE" -> "de"), or None
    when it is not shaped like a language code."""
    if not declared:
        return None
    primary = re.split(r"[-_]", declared.strip(), maxsplit=1)[0].lower()
    return primary if _CODE.fullmatch(primary) else None


def language_of(title: str, text: str, declared: str | None = None) -> str:
    """The language of an article: detected from its title and text, unless the detection is
    unsure (confidence below `SURE_ENOUGH`) and the page declared a well-formed code."""
    sample = f"{title}\n{text}"[:SAMPLE_CHARS]
    detected, confidence = _identifier().classify(sample)
    fallback = declared_code(declared)
    if fallback is not None and confidence < SURE_ENOUGH:
        return fallback
    return detected

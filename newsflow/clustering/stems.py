"""Snowball stemming of terms, so "arrested" and "arrest" or "Wahlen" and "Wahl" meet.

`snowballstemmer` (pure Python, the stemmers Sphinx and NLTK ship) covers every language of
the stop lists. Callers memoise: `tokens` keeps each word's stemmed terms per language."""

from __future__ import annotations

from collections.abc import Callable

import snowballstemmer

_ALGORITHMS = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}


def _unchanged(term: str) -> str:
    return term


def stemmer_for(language: str | None) -> Callable[[str], str]:
    """The stem of an alphabetic term in `language` (a code of the stop lists); numbers and
    compounds such as "qwq-32b" are names and stay as they are, as does every term of a
    language without a stemmer."""
    if language is None or language not in _ALGORITHMS:
        return _unchanged
    stem_word = snowballstemmer.stemmer(_ALGORITHMS[language]).stemWord

    def stem(term: str) -> str:
        return stem_word(term) if term.isalpha() else term

    return stem

"""Snowball stemming of terms, so "arrested" and "arrest" or "Wahlen" and "Wahl" meet.

`snowballstemmer` (pure Python, the stemmers Sphinx and NLTK ship) covers every language of
the stop lists; a memo per language keeps each word stemmed once."""

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
_MEMO_LIMIT = 1 << 16  # words remembered per language; the memo starts over when full


def _unchanged(term: str) -> str:
    return term


class _Stemmer:
    """A memoised stemmer of one language, for alphabetic terms only (numbers and compounds
    such as "qwq-32b" are names: they stay as they are)."""

    def __init__(self, algorithm: str) -> None:
        self._stem_word = snowballstemmer.stemmer(algorithm).stemWord
        self._memo: dict[str, str] = {}

    def __call__(self, term: str) -> str:
        stemmed = self._memo.get(term)
        if stemmed is None:
            stemmed = self._stem_word(term) if term.isalpha() else term
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[term] = stemmed
        return stemmed


_STEMMERS: dict[str, _Stemmer] = {}


def stemmer_for(language: str | None) -> Callable[[str], str]:
    """The stemmer of `language` (a code of the stop lists), or no change for other languages."""
    if language is None or language not in _ALGORITHMS:
        return _unchanged
    stemmer = _STEMMERS.get(language)
    if stemmer is None:
        stemmer = _STEMMERS[language] = _Stemmer(_ALGORITHMS[language])
    return stemmer

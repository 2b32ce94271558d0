"""Unicode-aware tokenisation: terms of a title and lead, and word tokens for shingling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from newsflow.clustering.stems import stemmer_for
from newsflow.clustering.stopwords import STOPWORDS, language_of

# A word: letters or digits of any script, joined by inner hyphens or dots ("QwQ-32B",
# "U.S", "3.5"). Apostrophes split, so "Alibaba's" gives "alibaba" and "l'entreprise"
# gives "entreprise" once one-letter pieces are dropped. The optional first group is the end
# of a sentence right before the word, whose capital then says nothing.
# (Possessive `*+`: nothing follows the group, so it never backtracks; it just skips the work.)
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*+")
_WORD_AFTER = re.compile(r"([.!?:;\"“”«»„\n][\s'‘’]*)?([^\W_]+(?:[-.][^\W_]+)*+)")
_JOINERS = re.compile(r"[-.]")
_PLAIN, _CAPITALISED, _NAME_SHAPED = 0, 1, 2
_FIRST_TRY_CHARS_PER_WORD = 8  # a word and its space take ~6.3 characters in English news


@dataclass(frozen=True)
class Terms:
    """Weighted term counts of one document (title counts scaled) and its name-like terms."""

    counts: dict[str, float]
    names: frozenset[str]


def _shape(word: str) -> int:
    """Plain ("launch"), capitalised ("Thursday") or name-shaped: digits, acronyms ("NYSE"),
    inner capitals ("QwQ", "iPhone"), and words of scripts without case."""
    if word.isalpha() and word.islower():
        return _PLAIN
    letters = word.replace("-", "").replace(".", "")
    if not letters.isalpha():
        return _NAME_SHAPED
    if letters.islower():
        return _PLAIN
    if len(letters) == 1 or letters[1:].islower():
        return _CAPITALISED
    return _NAME_SHAPED


def _expand(token: str) -> list[str]:
    """A compound and its parts: "deepseek-r1" -> ["deepseek-r1", "deepseek", "r1"]."""
    if "-" not in token and "." not in token:
        return [token]
    pieces = _JOINERS.split(token)
    if all(piece.isdigit() for piece in pieces):
        return [token]  # a number ("6.1", "2024-25"): its pieces are other numbers
    parts = [part for part in pieces if len(part) > 1 or part.isdigit()]
    return [token, *parts]


def _analyse(word: str) -> tuple[str, int, tuple[str, ...]]:
    """A word's case-folded form, its shape and its terms before the stop list (pieces of one
    letter dropped); memoised, as the same words come back article after article."""
    analysed = _ANALYSED.get(word)
    if analysed is None:
        folded = word.casefold()
        terms = tuple(term for term in _expand(folded) if len(term) > 1 or term.isdigit())
        analysed = (folded, _shape(word), terms)
        if len(_ANALYSED) >= _ANALYSED_LIMIT:
            _ANALYSED.clear()
        _ANALYSED[word] = analysed
    return analysed


_ANALYSED: dict[str, tuple[str, int, tuple[str, ...]]] = {}
_ANALYSED_LIMIT = 1 << 16  # words remembered; the memo starts over when it is full


def extract_terms(
    title: str, text: str, language: str | None, lead_tokens: int, title_weight: float
) -> Terms:
    """Terms of the title and the first `lead_tokens` words of the text.

    A term is name-like when it has digits, is an acronym or has inner capitals anywhere,
    or when it is capitalised in the middle of a sentence of the lead; titles are often in
    title case, so a capital there alone does not count.
    """
    lead = _first_matches(_WORD_AFTER, text[: lead_tokens * 16], lead_tokens)
    title_words = _WORD.findall(title)
    known = _ANALYSED.get
    lead_words = [known(word) or _analyse(word) for _, word in lead]
    folded_lead = [folded for folded, _, _ in lead_words]
    code = language_of(folded_lead[:60] or [w.casefold() for w in title_words], language)
    stop = STOPWORDS.get(code or "", frozenset())
    stem = stemmer_for(code)

    counts: dict[str, float] = {}
    names: set[str] = set()
    get = counts.get
    for position, ((after_end, _), (folded, shape, terms)) in enumerate(
        zip(lead, lead_words, strict=True)
    ):
        if folded in stop:
            continue
        name_like = shape == _NAME_SHAPED or (
            shape == _CAPITALISED and not (after_end or position == 0)
        )
        for term in terms:
            if term not in stop:
                term = stem(term)
                counts[term] = get(term, 0.0) + 1.0
                if name_like:
                    names.add(term)
    for word in title_words:
        _, shape, terms = known(word) or _analyse(word)
        name_like = shape == _NAME_SHAPED
        for term in terms:
            if term not in stop:
                term = stem(term)
                counts[term] = get(term, 0.0) + title_weight
                if name_like:
                    names.add(term)
    return Terms(counts=counts, names=frozenset(names))


def word_tokens(text: str, limit: int) -> list[str]:
    """The first `limit` case-folded words of `text`, for shingling."""
    return _first_matches(_WORD, text[: limit * 10].casefold(), limit)


def _first_matches(pattern: re.Pattern[str], text: str, limit: int) -> list[Any]:
    """`pattern.findall(text)[:limit]`, scanning only a first part of `text` when it holds
    more than `limit` matches: a match followed by another one ends before the cut, so it is
    the same as in the whole text (neither pattern looks behind or ahead of its words)."""
    found: list[Any] = pattern.findall(text, 0, limit * _FIRST_TRY_CHARS_PER_WORD)
    if len(found) <= limit:
        found = pattern.findall(text)
    return found[:limit]

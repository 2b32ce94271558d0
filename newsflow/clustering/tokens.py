"""Unicode-aware tokenisation: terms of a title and lead, and word tokens for shingling."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsflow.clustering.stopwords import stopwords_for

# A word: letters or digits of any script, joined by inner hyphens or dots ("QwQ-32B",
# "U.S", "3.5"). Apostrophes split, so "Alibaba's" gives "alibaba" and "l'entreprise"
# gives "entreprise" once one-letter pieces are dropped.
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_JOINERS = re.compile(r"[-.]")
_SENTENCE_END = frozenset('.!?:;"“”«»„\n')


@dataclass(frozen=True)
class Terms:
    """Weighted term counts of one document (title counts scaled) and its name-like terms."""

    counts: dict[str, float]
    names: frozenset[str]


def _is_name_shaped(token: str) -> bool:
    """Digits, acronyms ("NYSE") and inner capitals ("QwQ", "iPhone") mark a name or number."""
    if any(char.isdigit() for char in token):
        return True
    letters = [char for char in token if char.isalpha()]
    return len(letters) >= 2 and (
        all(char.isupper() for char in letters) or any(char.isupper() for char in letters[1:])
    )


def _starts_sentence(text: str, start: int) -> bool:
    """True when the word at `start` opens the text or a sentence (so its capital says little)."""
    before = text[max(0, start - 4) : start].rstrip(" \t'‘’")
    return not before or before[-1] in _SENTENCE_END


def _expand(token: str) -> list[str]:
    """A compound and its parts: "deepseek-r1" -> ["deepseek-r1", "deepseek", "r1"]."""
    if not _JOINERS.search(token):
        return [token]
    parts = [part for part in _JOINERS.split(token) if len(part) > 1 or part.isdigit()]
    return [token, *parts]


def _keep(term: str, stop: frozenset[str]) -> bool:
    return (len(term) > 1 or term.isdigit()) and term not in stop


def extract_terms(
    title: str, text: str, language: str | None, lead_tokens: int, title_weight: float
) -> Terms:
    """Terms of the title and the first `lead_tokens` words of the text.

    A term is name-like when it has digits, is an acronym or has inner capitals anywhere,
    or when it is capitalised in the middle of a sentence of the lead; titles are often in
    title case, so a capital there alone does not count.
    """
    lead_matches = []
    for match in _WORD.finditer(text):
        lead_matches.append(match)
        if len(lead_matches) >= lead_tokens:
            break
    title_words = _WORD.findall(title)
    folded_lead = [match.group().casefold() for match in lead_matches]
    folded_title = [word.casefold() for word in title_words]
    stop = stopwords_for(folded_lead or folded_title, language)

    counts: dict[str, float] = {}
    names: set[str] = set()
    for match, folded in zip(lead_matches, folded_lead, strict=True):
        word = match.group()
        name_like = _is_name_shaped(word) or (
            word[0].isupper() and not _starts_sentence(text, match.start())
        )
        for term in _expand(folded):
            if _keep(term, stop):
                counts[term] = counts.get(term, 0.0) + 1.0
                if name_like:
                    names.add(term)
    for word, folded in zip(title_words, folded_title, strict=True):
        name_like = _is_name_shaped(word)
        for term in _expand(folded):
            if _keep(term, stop):
                counts[term] = counts.get(term, 0.0) + title_weight
                if name_like:
                    names.add(term)
    return Terms(counts=counts, names=frozenset(names))


def word_tokens(text: str, limit: int) -> list[str]:
    """The first `limit` case-folded words of `text`, for shingling."""
    words: list[str] = []
    for match in _WORD.finditer(text.casefold()):
        words.append(match.group())
        if len(words) >= limit:
            break
    return words

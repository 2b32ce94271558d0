"""Unicode-aware tokenisation: terms of a title and lead, and words for shingling."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsflow.clustering.stems import stemmer_for
from newsflow.clustering.stopwords import STOPWORDS, guess_language, listed_language

# A word: letters or digits of any script, joined by inner hyphens or dots ("QwQ-32B",
# "U.S", "3.5"). Apostrophes split, so "Alibaba's" gives "alibaba" and "l'entreprise"
# gives "entreprise" once one-letter pieces are dropped.
# (Possessive `*+`: nothing follows the group, so it never backtracks; it just skips the work.)
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*+")
# A word, or the end of a sentence right before a word, whose capital then says nothing. The
# end is a match of its own: as an optional group in front of every word it would make the
# scan try a whole match at every character, twice as slow.
_SENTENCE_END = '.!?:;"“”«»„\n'
_WORD_OR_END = re.compile(r"[.!?:;\"“”«»„\n][\s'‘’]*(?=[^\W_])|[^\W_]+(?:[-.][^\W_]+)*+")
_JOINERS = re.compile(r"[-.]")
_PLAIN, _CAPITALISED, _NAME_SHAPED = 0, 1, 2
_FIRST_TRY_CHARS_PER_WORD = 8  # a word and its space take ~6.3 characters in English news
_MOST_CHARS_PER_WORD = 10  # text read for shingling: a word and its space rarely take more
_UNSPACED_CHARS_PER_WORD = 20  # more per white-space piece: a script written without spaces


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


def extract_terms(
    title: str, text: str, language: str | None, lead_tokens: int, title_weight: float
) -> Terms:
    """Terms of the title and the first `lead_tokens` words of the text: stop words of the
    text's language (`language`, else guessed from the stop lists) dropped, the rest stemmed.

    A term is name-like when it has digits, is an acronym or has inner capitals anywhere,
    or when it is capitalised in the middle of a sentence of the lead; titles are often in
    title case, so a capital there alone does not count.
    """
    lead, after_end = _lead(text[: lead_tokens * 16], lead_tokens)
    title_words = _WORD.findall(title)
    code = listed_language(language) or guess_language(
        [word.casefold() for word in lead[:60] or title_words]
    )
    vocabulary = _vocabulary(code)
    known = vocabulary.memo.get
    analyse = vocabulary.analyse

    counts: dict[str, float] = {}
    names: set[str] = set()
    get = counts.get
    for position, (ended, word) in enumerate(zip(after_end, lead, strict=True)):
        kept, shape = known(word) or analyse(word)
        if not kept:
            continue
        name_like = shape == _NAME_SHAPED or (
            shape == _CAPITALISED and not (ended or position == 0)
        )
        for term in kept:
            counts[term] = get(term, 0.0) + 1.0
            if name_like:
                names.add(term)
    for word in title_words:
        kept, shape = known(word) or analyse(word)
        name_like = shape == _NAME_SHAPED
        for term in kept:
            counts[term] = get(term, 0.0) + title_weight
            if name_like:
                names.add(term)
    return Terms(counts=counts, names=frozenset(names))


class _Vocabulary:
    """What one language makes of a word as written: its terms (case-folded, compounds with
    their parts, pieces of one letter dropped), less stop words, stemmed; and its shape.
    Memoised, as the same words come back article after article."""

    def __init__(self, language: str | None) -> None:
        self.memo: dict[str, tuple[tuple[str, ...], int]] = {}
        self._stop = STOPWORDS.get(language or "", frozenset())
        self._stem = stemmer_for(language)

    def analyse(self, word: str) -> tuple[tuple[str, ...], int]:
        """The kept terms and the shape of `word`."""
        stop, stem = self._stop, self._stem
        terms = [term for term in _expand(word.casefold()) if len(term) > 1 or term.isdigit()]
        analysed = (tuple(stem(term) for term in terms if term not in stop), _shape(word))
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        self.memo[word] = analysed
        return analysed


def _vocabulary(language: str | None) -> _Vocabulary:
    vocabulary = _VOCABULARIES.get(language)
    if vocabulary is None:
        vocabulary = _VOCABULARIES[language] = _Vocabulary(language)
    return vocabulary


_VOCABULARIES: dict[str | None, _Vocabulary] = {}
_MEMO_LIMIT = 1 << 17  # words remembered per language; the memo starts over when full


def shingle_words(text: str, limit: int) -> list[str]:
    """The first `limit` words of `text` for shingling: lower-cased and split at white space,
    punctuation left on (copies keep it as it is; a split is four times faster than the word
    pattern). Text written without spaces (Chinese, Japanese, Thai) splits into a few long
    pieces, so there the units are its first `limit` characters instead. A NUL character
    counts as white space: it separates words for the hasher (`minhash._WordHasher`)."""
    head = text[: limit * _MOST_CHARS_PER_WORD].lower().replace("\x00", " ")
    words = head.split(None, limit)[:limit]
    if len(head) > _UNSPACED_CHARS_PER_WORD * len(words):
        return list("".join(words)[:limit])
    return words


def _lead(text: str, limit: int) -> tuple[list[str], list[bool]]:
    """The first `limit` words of `text`, and for each whether a sentence ended right before
    it. A first scan of part of the text is enough when it finds more than `limit` words: a
    word followed by another one ends before the cut, so it is the same as in the whole text
    (an end is matched only with the first letter of its word in sight)."""
    words, after_end = _words_after_ends(
        _WORD_OR_END.findall(text, 0, limit * _FIRST_TRY_CHARS_PER_WORD)
    )
    if len(words) <= limit:
        words, after_end = _words_after_ends(_WORD_OR_END.findall(text))
    return words[:limit], after_end[:limit]


def _words_after_ends(found: list[str]) -> tuple[list[str], list[bool]]:
    """The words among `_WORD_OR_END` matches, and whether a sentence end preceded each."""
    words: list[str] = []
    after_end: list[bool] = []
    ended = False
    for match in found:
        if match[0] in _SENTENCE_END:
            ended = True
        else:
            words.append(match)
            after_end.append(ended)
            ended = False
    return words, after_end

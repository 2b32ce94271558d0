"""TF-IDF vectors with document frequencies counted over the articles in the window."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import islice, repeat
from operator import mul, neg

from newsflow.clustering.tokens import Terms

Vector = dict[str, float]


class DocumentFrequencies:
    """How many documents in the window contain each term (counted once per document)."""

    def __init__(self, prior_documents: float) -> None:
        """`prior_documents`: pseudo-documents smoothing the idf of a nearly empty window."""
        self.counts: dict[str, int] = {}
        self.documents = 0
        self.prior_documents = prior_documents

    def add(self, terms: Iterable[str]) -> None:
        """Count one more document holding `terms`."""
        self.documents += 1
        counts = self.counts
        for term in terms:
            counts[term] = counts.get(term, 0) + 1

    def remove(self, terms: Iterable[str]) -> None:
        """Forget a document holding `terms` (it left the window)."""
        self.documents -= 1
        counts = self.counts
        for term in terms:
            left = counts[term] - 1
            if left:
                counts[term] = left
            else:
                del counts[term]


def weigh(terms: Terms, frequencies: DocumentFrequencies, name_boost: float, size: int) -> Vector:
    """The unit-length vector of the `size` heaviest terms, heaviest first: sublinear tf x idf,
    names boosted.

    idf = ln((N + P + 1) / (df + 1)) with N documents in the window and P `prior_documents`
    pseudo-documents without the term: they keep the first articles of a window from
    penalising exactly the terms they share (with one article seen, its terms would otherwise
    weigh less than the newcomer's own)."""
    words = list(terms.counts)
    log_documents = math.log(frequencies.documents + frequencies.prior_documents + 1)
    log_of_count = _log_of_count(frequencies.documents + 2)
    # Whole-list steps (map runs in C): tf, idf and name boost of each word, then their product.
    tfs = list(map(_sublinear_tf, terms.counts.values()))
    idfs = [
        log_documents - log_of_count[df + 1]
        for df in map(frequencies.counts.get, words, repeat(0, len(words)))
    ]
    names = terms.names
    boosts = [name_boost if word in names else 1.0 for word in words]
    weights = map(mul, map(mul, tfs, idfs), boosts)
    # (-weight, term): heaviest first, ties by term
    kept = sorted(zip(map(neg, weights), words, strict=True))[:size]
    norm = math.sqrt(sum(weight * weight for weight, _ in kept)) or 1.0
    return {term: -weight / norm for weight, term in kept}


def _sublinear_tf(count: float) -> float:
    """1 + ln(count), or the count itself below 1 (memoised: counts take few values)."""
    tf = _SUBLINEAR.get(count)
    if tf is None:
        tf = _SUBLINEAR[count] = (1.0 + math.log(count)) if count >= 1.0 else count
    return tf


_SUBLINEAR: dict[float, float] = {}  # term count -> sublinear tf
_LOGS: list[float] = [-math.inf]  # _LOGS[n] = ln(n)


def _log_of_count(size: int) -> list[float]:
    """ln(0) .. ln(size - 1) at least (memoised: document frequencies are small integers)."""
    if len(_LOGS) < size:
        _LOGS.extend(math.log(n) for n in range(len(_LOGS), 2 * size))
    return _LOGS


def key_names(vector: Vector, names: frozenset[str], count: int) -> frozenset[str]:
    """The `count` heaviest name-like terms of `vector`: who and where the article is about."""
    return frozenset(islice((term for term in vector if term in names), count))


class Query:
    """One vector dotted with many others: its terms and weights listed once."""

    __slots__ = ("_terms", "_weights", "_zeros")

    def __init__(self, vector: Vector) -> None:
        self._terms = list(vector)
        self._weights = list(vector.values())
        self._zeros = [0.0] * len(vector)

    def dot(self, other: Vector) -> float:
        """Dot product with a sparse vector, summed in the order of the query's terms."""
        found = map(other.get, self._terms, self._zeros)
        total: float = sum(map(mul, self._weights, found))
        return total

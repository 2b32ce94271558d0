"""TF-IDF vectors with document frequencies counted over the articles in the window."""

from __future__ import annotations

import math
from collections.abc import Iterable

from newsflow.clustering.tokens import Terms

Vector = dict[str, float]


class DocumentFrequencies:
    """How many documents in the window contain each term (counted once per document)."""

    def __init__(self, prior_documents: float) -> None:
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

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency: rare terms weigh more, unseen ones most.

        `prior_documents` pseudo-documents without the term keep the first articles of a window
        from penalising exactly the terms they share (with one article seen, its terms would
        otherwise weigh less than the newcomer's own)."""
        documents = self.documents + self.prior_documents
        return math.log((documents + 1) / (self.counts.get(term, 0) + 1))


def weigh(terms: Terms, frequencies: DocumentFrequencies, name_boost: float, size: int) -> Vector:
    """The unit-length vector of the `size` heaviest terms: sublinear tf x idf, names boosted."""
    weights: list[tuple[float, str]] = []
    for term, count in terms.counts.items():
        weight = (1.0 + math.log(count)) if count >= 1.0 else count
        weight *= frequencies.idf(term)
        if term in terms.names:
            weight *= name_boost
        weights.append((weight, term))
    weights.sort(key=lambda pair: (-pair[0], pair[1]))
    kept = weights[:size]
    norm = math.sqrt(sum(weight * weight for weight, _ in kept)) or 1.0
    return {term: weight / norm for weight, term in kept}


def dot(first: Vector, second: Vector) -> float:
    """Dot product of two sparse vectors."""
    if len(first) > len(second):
        first, second = second, first
    return sum(weight * second.get(term, 0.0) for term, weight in first.items())

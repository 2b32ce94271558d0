"""Clustering quality against labels: B-cubed and pairwise precision, recall and F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when both are 0)."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def bcubed(predicted: Sequence[str], gold: Sequence[str]) -> Scores:
    """B-cubed scores: per item, the share of its predicted cluster that has its label
    (precision) and the share of its label that is in its predicted cluster (recall),
    averaged over items."""
    _check(predicted, gold)
    both = Counter(zip(predicted, gold, strict=True))
    cluster_sizes = Counter(predicted)
    label_sizes = Counter(gold)
    precision = sum(n * n / cluster_sizes[c] for (c, _), n in both.items()) / len(gold)
    recall = sum(n * n / label_sizes[g] for (_, g), n in both.items()) / len(gold)
    return Scores(precision, recall)


def pairwise(predicted: Sequence[str], gold: Sequence[str]) -> Scores:
    """Pair-counting scores over all pairs of items: a pair is positive when both items share
    a cluster; precision and recall against pairs that share a label (1 when no pairs)."""
    _check(predicted, gold)

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter(zip(predicted, gold, strict=True)))
    in_clusters = pairs(Counter(predicted))
    in_labels = pairs(Counter(gold))
    return Scores(
        together / in_clusters if in_clusters else 1.0,
        together / in_labels if in_labels else 1.0,
    )


def _check(predicted: Sequence[str], gold: Sequence[str]) -> None:
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} labels")
    if not gold:
        raise ValueError("no items to score")

"""The evaluation scores, on examples small enough to check by hand."""

from __future__ import annotations

import pytest

from newsflow.clustering.metrics import bcubed, pairwise


def test_bcubed_on_a_hand_checked_example() -> None:
    # Labels: a a a b b. Clusters: {1,2} {3,4,5}, i.e. x x y y y.
    # Precision per item: 1, 1 (x is all a), 1/3, 2/3, 2/3 (y holds one a, two b) -> 11/15.
    # Recall per item: 2/3, 2/3, 1/3 (a split 2+1), 1, 1 (b together) -> 11/15.
    scores = bcubed(["x", "x", "y", "y", "y"], ["a", "a", "a", "b", "b"])
    assert scores.precision == pytest.approx(11 / 15)
    assert scores.recall == pytest.approx(11 / 15)
    assert scores.f1 == pytest.approx(11 / 15)


def test_bcubed_extremes() -> None:
    gold = ["a", "a", "b"]
    assert bcubed(["1", "2", "3"], gold).precision == 1.0
    assert bcubed(["1", "2", "3"], gold).recall == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    assert bcubed(["1", "1", "1"], gold).recall == 1.0
    assert bcubed(["1", "1", "1"], gold).precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)
    assert bcubed(["p", "p", "q"], gold).f1 == 1.0


def test_pairwise_on_a_hand_checked_example() -> None:
    # Same example: predicted pairs (1,2) (3,4) (3,5) (4,5); gold pairs (1,2) (1,3) (2,3) (4,5).
    # Shared: (1,2) and (4,5) -> precision 2/4, recall 2/4.
    scores = pairwise(["x", "x", "y", "y", "y"], ["a", "a", "a", "b", "b"])
    assert (scores.precision, scores.recall, scores.f1) == (0.5, 0.5, 0.5)


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="2 predictions for 1 labels"):
        bcubed(["x", "y"], ["a"])

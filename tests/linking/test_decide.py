"""The linker's pure decisions: the text of a story, when to embed it, whom to link it with."""

from __future__ import annotations

import numpy as np

from newsflow.linking.decide import (
    LEAD_WORDS,
    MAX_HEADLINES,
    due_for_embedding,
    pick_partner,
    story_text,
)


def _pick(scores: list[float], groups: list[str], eligible: list[bool]) -> int | None:
    return pick_partner(np.asarray(scores, dtype=np.float32), groups, eligible, 0.88, 0.02)


def test_the_best_eligible_story_is_linked_when_it_clears_threshold_and_margin() -> None:
    assert _pick([0.91, 0.85, 0.80], ["a", "b", "c"], [True, True, True]) == 0
    assert _pick([0.85, 0.93], ["a", "b"], [True, True]) == 1


def test_no_link_below_the_threshold_or_within_the_margin() -> None:
    assert _pick([0.87, 0.70], ["a", "b"], [True, True]) is None
    assert _pick([0.91, 0.90], ["a", "b"], [True, True]) is None


def test_an_ineligible_story_still_counts_against_the_margin_but_is_never_picked() -> None:
    # b (same language or out of time) is closer: a is no clear winner.
    assert _pick([0.90, 0.95], ["a", "b"], [True, False]) is None
    assert _pick([0.95], ["a"], [False]) is None


def test_stories_of_the_winners_group_do_not_count_against_it() -> None:
    assert _pick([0.91, 0.905, 0.80], ["a", "a", "c"], [True, True, True]) == 0


def test_nothing_to_compare_links_nothing() -> None:
    assert _pick([], [], []) is None


def test_a_story_is_embedded_when_it_opens_and_when_its_article_count_doubles() -> None:
    embedded_at, embedded = 0, []
    for articles in range(1, 40):
        if due_for_embedding(articles, embedded_at):
            embedded_at = articles
            embedded.append(articles)
    assert not due_for_embedding(0, 0)
    assert due_for_embedding(1, 0)
    assert not due_for_embedding(3, 2)
    assert due_for_embedding(4, 2)
    assert not due_for_embedding(2 * MAX_HEADLINES, MAX_HEADLINES)
    assert embedded == [n for n in (1, 2, 4, 8) if n <= MAX_HEADLINES]


def test_story_text_is_the_first_headline_and_lead_then_the_other_headlines() -> None:
    lead = " ".join(f"w{i}" for i in range(LEAD_WORDS + 20))
    text = story_text(["First headline", "Second headline"], lead)
    lines = text.split("\n")
    assert lines[0] == "First headline"
    assert lines[1].split() == lead.split()[:LEAD_WORDS]
    assert lines[2] == "Second headline"
    assert story_text([], "") == ""

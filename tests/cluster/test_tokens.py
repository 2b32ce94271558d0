"""Tokenisation: shingle words, and terms whose shortcuts match a plain scan."""

from __future__ import annotations

import re

import pytest

from newsflow.clustering import tokens
from newsflow.clustering.tokens import extract_terms, shingle_words

_SAMPLES = [
    "QwQ-32B beat GPT-4.5 at the U.S. test. " * 40,
    # Compounds whose joiner or second half falls on either side of any first-scan cut.
    " ".join(f"w{n}-x{n}.y{n}" for n in range(400)),
    "a.b. " * 500,
    "Straße İstanbul ÉCOLE «Zitat» — l'entreprise d'Alibaba's " * 30,
    "short text",
    "",
]


@pytest.mark.parametrize("text", _SAMPLES)
@pytest.mark.parametrize("limit", [1, 3, 80, 200])
def test_shingle_words_are_the_first_lower_cased_words(text: str, limit: int) -> None:
    # Read from the first 10 characters per word wanted (long words leave fewer).
    assert shingle_words(text, limit) == text[: limit * 10].lower().split()[:limit]


def test_case_and_spacing_do_not_change_shingle_words() -> None:
    assert shingle_words("The  QUICK\nbrown fox.", 10) == shingle_words("the quick brown\tfox.", 10)


def test_text_written_without_spaces_is_shingled_by_character() -> None:
    text = "阿里巴巴周四发布了推理模型QwQ-32B，参数为320亿。 它与DeepSeek-R1相比。" * 20
    units = shingle_words(text, 50)
    assert units == list(text.lower().replace(" ", "")[:50])


def test_terms_do_not_depend_on_the_word_memo() -> None:
    title, text = "Alibaba's QwQ-32B", "The U.S. firm said QwQ-32B beats o1. Alibaba's shares rose."
    fresh = extract_terms(title, text, None, 80, 2.0)
    tokens._VOCABULARIES.clear()
    assert extract_terms(title, text, None, 80, 2.0) == fresh
    assert extract_terms(title, text, None, 80, 2.0) == fresh  # now read from the memo
    assert fresh.counts["qwq-32b"] == 3.0 and "qwq-32b" in fresh.names


@pytest.mark.parametrize(
    ("language", "first", "second", "shared"),
    [
        ("en", "Police arrested the strikers.", "The arrest of a striker.", {"arrest", "striker"}),
        ("de", "Die Wahlen in Sachsen.", "In Sachsen die Wahl.", {"wahl", "sachs"}),
        ("fr", "Les élections présidentielles.", "Une élection présidentielle.", {"élect"}),
    ],
)
def test_inflected_forms_of_a_word_give_one_term(
    language: str, first: str, second: str, shared: set[str]
) -> None:
    one = extract_terms("", first, language, 80, 2.0).counts
    other = extract_terms("", second, language, 80, 2.0).counts

    assert shared <= set(one) & set(other)


def test_numbers_and_compounds_are_not_stemmed() -> None:
    terms = extract_terms("QwQ-32B launches", "Alibaba launched QwQ-32B.", "en", 80, 2.0)

    assert {"qwq-32b", "qwq", "32b"} <= set(terms.counts)
    assert terms.counts["launch"] == 3.0  # "launches" in the title (x2) and "launched"


# The lead pattern as it read before: the sentence end an optional group in front of the word.
_PLAIN_WORD_AFTER = re.compile(r"([.!?:;\"“”«»„\n][\s'‘’]*)?([^\W_]+(?:[-.][^\W_]+)*)")
_PUNCTUATED = [
    *_SAMPLES,
    'He said: "Yes." Then, «Non!» „Ja“ — it’s U.S. policy.\n\n‘Quoted’ Start? ok; Next ' * 20,
    "end.\n \"'Word . , Word!? ?Word ;' ’ Word " * 40,
]


@pytest.mark.parametrize("text", _PUNCTUATED)
@pytest.mark.parametrize("limit", [1, 3, 80])
def test_lead_words_and_sentence_ends_match_the_optional_group_scan(text: str, limit: int) -> None:
    for shift in range(12):
        shifted = "x" * shift + " " + text
        expected = _PLAIN_WORD_AFTER.findall(shifted)[:limit]
        assert tokens._lead(shifted, limit) == (
            [word for _, word in expected],
            [bool(end) for end, _ in expected],
        )

"""MinHash signatures: the array arithmetic gives the plain definition's values."""

from __future__ import annotations

import numpy as np
import pytest

from newsflow.clustering.minhash import MinHasher, _mix, exact_key

_WORDS = [
    "the",
    "u.s",
    "firm",
    "said",
    "qwq-32b",
    "beats",
    "o1",
    "and",
    "alibaba's",
    "shares",
    "rose",
    "straße",
]
_MASK = 2**64 - 1


def _reference_signature(hasher: MinHasher, words: list[str]) -> list[int]:
    """Top 32 bits of the least (a * shingle + b) mod 2**64 per permutation, one by one."""
    hashes = [int(value) for value in hasher._words.hashes(words)]
    size = hasher.shingle_size
    shingles = []
    for start in range(max(1, len(words) - size + 1)):
        value = 0
        for word_hash in hashes[start : start + size]:
            value = (value * 0x100000001B3 + word_hash) & _MASK
        shingles.append(int(_mix(np.array([value], dtype=np.uint64))[0]))
    return [
        min((int(a) * shingle + int(b)) & _MASK for shingle in shingles) >> 32
        for a, b in zip(hasher._multipliers, hasher._offsets.ravel(), strict=True)
    ]


@pytest.mark.parametrize("count", [1, 3, 5, 6, len(_WORDS)])
def test_signature_matches_the_definition(count: int) -> None:
    hasher = MinHasher(16, 4, 2, 5)
    words = _WORDS[:count]
    shingled = hasher.shingle(words)
    assert shingled is not None
    assert shingled.signature.tolist() == _reference_signature(hasher, words)


def test_size_counts_distinct_shingles() -> None:
    hasher = MinHasher(16, 4, 2, 3)
    repeated = hasher.shingle(["a", "b", "c", "d"] * 10)  # 38 shingles, 4 different ones
    short = hasher.shingle(["a", "b"])
    assert repeated is not None and repeated.size == 4
    assert short is not None and short.size == 1
    assert hasher.shingle([]) is None


def test_exact_key_tells_unequal_texts_apart() -> None:
    texts = ["A b", "a b", "A  b", "A\nb", "Straße", "Strasse", "x \ud800 y"]  # a lone surrogate
    keys = [exact_key(text) for text in texts]
    assert None not in keys and len(set(keys)) == len(texts)
    assert exact_key("A b") == exact_key("A b")


@pytest.mark.parametrize("text", ["", " ", "\t\n"])
def test_a_blank_text_has_no_exact_key(text: str) -> None:
    assert exact_key(text) is None


def test_a_word_holding_nul_is_refused_not_hashed_out_of_place() -> None:
    hasher = MinHasher(64, 16, 4, 3)
    with pytest.raises(ValueError, match="NUL"):
        hasher.shingle(["alpha", "be\x00ta", "gamma"])

"""MinHash signatures over word shingles and a banded LSH index for near-duplicate lookup.

Vectorised with numpy rather than `datasketch.MinHash`: hashing every shingle through SHA-1
one by one would be the slowest step of the clusterer. Here the words are hashed all at once
(a polynomial hash over their UTF-8 bytes, stable across processes, unlike `hash()`), combined
into shingle hashes and permuted as whole arrays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from newsflow.clustering.columns import sorted_groups

Signature = npt.NDArray[np.uint32]

_SHINGLE_BASE = np.uint64(0x100000001B3)
_BYTE_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SEED = 20250306


def _powers_of(base: int, length: int) -> npt.NDArray[np.uint64]:
    """base**0 .. base**(length - 1) modulo 2**64."""
    powers = np.ones(length, dtype=np.uint64)
    powers[1:] = np.cumprod(np.full(length - 1, base, dtype=np.uint64), dtype=np.uint64)
    return powers


class _WordHasher:
    """64-bit hashes of words, all words of a text in a few array operations.

    Word k's hash is sum((byte_i + 1) * B**i) over its bytes; computed over the joined text as
    sum((byte_j + 1) * B**j) for the word's global byte positions j, times B**-start."""

    def __init__(self) -> None:
        self._powers = np.ones(1, dtype=np.uint64)
        self._inverse_powers = np.ones(1, dtype=np.uint64)

    def _grow(self, size: int) -> None:
        length = 1 << max(size - 1, 1).bit_length()
        self._powers = _powers_of(_BYTE_BASE, length)
        self._inverse_powers = _powers_of(pow(_BYTE_BASE, -1, 2**64), length)

    def hashes(self, words: list[str]) -> npt.NDArray[np.uint64]:
        """One hash per word; equal words give equal hashes wherever they stand. Raises
        `ValueError` for a word holding NUL, which separates the words here
        (`tokens.shingle_words` splits at it)."""
        data = np.frombuffer(_utf8("\x00".join(words)), dtype=np.uint8)
        separators = np.flatnonzero(data == 0)
        if len(separators) != len(words) - 1:
            raise ValueError("a word to hash holds NUL")
        if len(data) > len(self._powers):
            self._grow(len(data))
        values = (data.astype(np.uint64) + np.uint64(1)) * self._powers[: len(data)]
        values[separators] = 0
        starts = np.concatenate(([0], separators + 1))
        sums: npt.NDArray[np.uint64] = np.add.reduceat(values, starts)
        return _mix(sums * self._inverse_powers[starts])


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A SplitMix64-style finaliser, so nearby inputs give unrelated outputs."""
    values = values ^ (values >> np.uint64(31))
    values = values * _MIX
    return values ^ (values >> np.uint64(29))


@dataclass(frozen=True, slots=True)
class Shingled:
    """A MinHash signature, the number of distinct shingles it summarises and its LSH keys."""

    signature: Signature
    size: int
    band_keys: tuple[int, ...]

    def __reduce__(self) -> tuple[Callable[..., Shingled], tuple[bytes, int, tuple[int, ...]]]:
        # The signature as bytes: numpy's own pickling of a small array takes twice as long
        # to load, and analysed documents are passed between processes.
        return _shingled, (
            self.signature.astype("<u4", copy=False).tobytes(),
            self.size,
            self.band_keys,
        )


def _shingled(signature: bytes, size: int, band_keys: tuple[int, ...]) -> Shingled:
    """A pickled `Shingled` again."""
    return Shingled(
        np.frombuffer(signature, dtype="<u4").astype(np.uint32, copy=False), size, band_keys
    )


class MinHasher:
    """Signatures of `permutations` values, the minimum of each hash permutation over the
    shingles; the first `bands * rows` of them are cut into LSH bands."""

    def __init__(self, permutations: int, bands: int, rows: int, shingle_size: int) -> None:
        if bands * rows > permutations:
            raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations")
        self.bands = bands
        self.rows = rows
        self.shingle_size = shingle_size
        self._words = _WordHasher()
        rng = np.random.default_rng(_SEED)
        size = permutations
        self._multipliers = rng.integers(1, 2**63, size=size, dtype=np.uint64) | np.uint64(1)
        self._offsets = rng.integers(0, 2**63, size=size, dtype=np.uint64)[:, None]
        self._band_coefficients = rng.integers(1, 2**63, size=rows, dtype=np.uint64)
        self._band_salts = rng.integers(0, 2**63, size=bands, dtype=np.uint64)

    def shingle(self, words: list[str]) -> Shingled | None:
        """The signature of the word shingles of `words`; None when there are no words."""
        if not words:
            return None
        shingles = self._shingle_hashes(self._words.hashes(words))
        # One row per permutation, so that each minimum reads contiguous memory.
        permuted = np.multiply.outer(self._multipliers, _mix(shingles))
        permuted += self._offsets
        # The top 32 bits of the least value are the least top 32 bits: one shift, not span.
        lowest: npt.NDArray[np.uint64] = permuted.min(axis=1) >> np.uint64(32)
        signature = lowest.astype(np.uint32)
        return Shingled(signature, _distinct(shingles), self.band_keys(signature))

    def _shingle_hashes(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """One hash per run of `shingle_size` words (one for all words when fewer)."""
        span = max(1, len(hashes) - self.shingle_size + 1)
        shingles = hashes[:span].copy()
        for offset in range(1, min(self.shingle_size, len(hashes))):
            shingles *= _SHINGLE_BASE
            shingles += hashes[offset : offset + span]
        return shingles

    def band_keys(self, signature: Signature) -> tuple[int, ...]:
        """One bucket key per band; two signatures share a key when a whole band is equal."""
        return tuple(self.band_key_rows(signature[None, :])[0].tolist())

    def band_key_rows(self, signatures: Signature) -> npt.NDArray[np.uint64]:
        """The band keys of each row of a 2-d array of signatures, as rows."""
        width = self.bands * self.rows
        bands = (
            signatures[:, :width].astype(np.uint64).reshape(len(signatures), self.bands, self.rows)
        )
        return _mix(bands @ self._band_coefficients + self._band_salts)


def _distinct(values: npt.NDArray[np.uint64]) -> int:
    """How many different values a non-empty array holds."""
    ordered = np.sort(values)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def exact_key(text: str) -> str | None:
    """A key equal for equal texts; None for a blank text. Copies that differ only in case or
    spacing are left to the shingles, which ignore both."""
    if not text or text.isspace():
        return None
    return hashlib.blake2b(_utf8(text), digest_size=16).hexdigest()


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of any str, lone surrogates (valid in JSON strings) included."""
    return text.encode("utf-8", "surrogatepass")


def containment(first: Shingled, second: Shingled) -> float:
    """The estimated share of the smaller shingle set that is also in the larger one.

    From the Jaccard estimate J (share of equal signature values): the intersection is
    J * (|A| + |B|) / (1 + J). Unlike Jaccard, this stays high for a short article republished
    with a long boilerplate paragraph added."""
    jaccard = float(np.count_nonzero(first.signature == second.signature)) / len(first.signature)
    shared = jaccard * (first.size + second.size) / (1.0 + jaccard)
    return min(1.0, shared / min(first.size, second.size))


class NearDuplicateIndex:
    """Band buckets of the signatures of the documents in the window, keyed by document number."""

    def __init__(self, hasher: MinHasher) -> None:
        self.hasher = hasher
        self._buckets: dict[int, int | list[int]] = {}
        self._signatures: dict[int, Shingled] = {}

    def add(self, number: int, shingled: Shingled) -> None:
        """Index document `number` under each of its band keys."""
        self._signatures[number] = shingled
        for key in shingled.band_keys:
            held = self._buckets.get(key)
            if held is None:
                self._buckets[key] = number
            elif isinstance(held, int):
                self._buckets[key] = [held, number]
            else:
                held.append(number)

    def remove(self, number: int) -> None:
        """Forget document `number` (it left the window)."""
        shingled = self._signatures.pop(number, None)
        if shingled is None:
            return
        for key in shingled.band_keys:
            held = self._buckets.get(key)
            if held == number:
                del self._buckets[key]
            elif isinstance(held, list):
                held.remove(number)
                if len(held) == 1:
                    self._buckets[key] = held[0]

    def restore(
        self, numbers: list[int], signatures: Signature, sizes: list[int]
    ) -> list[Shingled]:
        """Index saved documents in bulk (row i of `signatures` is document `numbers[i]`, of
        `sizes[i]` shingles), as `add` would one by one; returns their `Shingled`."""
        key_rows = self.hasher.band_key_rows(signatures)
        shingled = [
            Shingled(signature, size, tuple(keys))
            for signature, size, keys in zip(signatures, sizes, key_rows.tolist(), strict=True)
        ]
        self._signatures.update(zip(numbers, shingled, strict=True))
        owners = np.repeat(np.array(numbers, dtype=np.int64), key_rows.shape[1])
        keys, starts, counts, ordered = sorted_groups(key_rows.ravel(), owners)
        buckets = self._buckets
        alone = counts == 1
        buckets.update(zip(keys[alone].tolist(), ordered[starts[alone]].tolist(), strict=True))
        listed = ordered.tolist()
        for key, start, count in zip(
            keys[~alone].tolist(), starts[~alone].tolist(), counts[~alone].tolist(), strict=True
        ):
            buckets[key] = listed[start : start + count]
        return shingled

    def best_match(
        self, shingled: Shingled, threshold: float, eligible: Callable[[int], bool]
    ) -> int | None:
        """The `eligible` indexed document with the highest `containment` with `shingled`, at
        least `threshold`, if any; ties go to the earliest document."""
        candidates: set[int] = set()
        for key in shingled.band_keys:
            held = self._buckets.get(key)
            if isinstance(held, int):
                candidates.add(held)
            elif held is not None:
                candidates.update(held)
        best: tuple[float, int] | None = None
        for number in sorted(filter(eligible, candidates)):
            score = containment(shingled, self._signatures[number])
            if score >= threshold and (best is None or score > best[0]):
                best = (score, number)
        return None if best is None else best[1]

"""MinHash signatures over word shingles and a banded LSH index for near-duplicate lookup.

Vectorised with numpy rather than `datasketch.MinHash`: hashing every shingle through SHA-1
one by one is the slowest step of the clusterer, while here token hashes (CRC-32, stable across
processes, unlike `hash()`) are combined into shingle hashes and permuted as whole arrays.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Signature = npt.NDArray[np.uint32]

_SHINGLE_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SEED = 20250306


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A SplitMix64-style finaliser, so nearby inputs give unrelated outputs."""
    values = values ^ (values >> np.uint64(31))
    values = values * _MIX
    return values ^ (values >> np.uint64(29))


@dataclass(frozen=True)
class Shingled:
    """A MinHash signature and the number of distinct shingles it summarises."""

    signature: Signature
    size: int


class MinHasher:
    """Signatures of `permutations` values, the minimum of each hash permutation over the
    shingles; the first `bands * rows` of them are cut into LSH bands."""

    def __init__(self, permutations: int, bands: int, rows: int, shingle_size: int) -> None:
        if bands * rows > permutations:
            raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations")
        self.bands = bands
        self.rows = rows
        self.shingle_size = shingle_size
        rng = np.random.default_rng(_SEED)
        size = permutations
        self._multipliers = rng.integers(1, 2**63, size=size, dtype=np.uint64) | np.uint64(1)
        self._offsets = rng.integers(0, 2**63, size=size, dtype=np.uint64)
        self._band_coefficients = rng.integers(1, 2**63, size=rows, dtype=np.uint64)
        self._band_salts = rng.integers(0, 2**63, size=bands, dtype=np.uint64)

    def shingle(self, words: list[str]) -> Shingled | None:
        """The signature of the word shingles of `words`; None when there are no words."""
        if not words:
            return None
        hashes = np.fromiter(
            (zlib.crc32(word.encode("utf-8")) for word in words), dtype=np.uint64, count=len(words)
        )
        span = max(1, len(words) - self.shingle_size + 1)
        shingles = np.zeros(span, dtype=np.uint64)
        for offset in range(min(self.shingle_size, len(words))):
            shingles = shingles * _SHINGLE_BASE + hashes[offset : offset + span]
        permuted = _mix(shingles)[:, None] * self._multipliers + self._offsets
        top_bits: npt.NDArray[np.uint64] = permuted >> np.uint64(32)
        return Shingled(top_bits.min(axis=0).astype(np.uint32), len(np.unique(shingles)))

    def band_keys(self, signature: Signature) -> list[int]:
        """One bucket key per band; two signatures share a key when a whole band is equal."""
        bands = signature[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        keys = _mix((bands * self._band_coefficients).sum(axis=1) + self._band_salts)
        return [int(key) for key in keys]


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

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, number: int, shingled: Shingled) -> None:
        """Index document `number` under each of its band keys."""
        self._signatures[number] = shingled
        for key in self.hasher.band_keys(shingled.signature):
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
        for key in self.hasher.band_keys(shingled.signature):
            held = self._buckets.get(key)
            if held == number:
                del self._buckets[key]
            elif isinstance(held, list):
                held.remove(number)
                if len(held) == 1:
                    self._buckets[key] = held[0]

    def best_match(self, shingled: Shingled, threshold: float) -> int | None:
        """The indexed document with the highest `containment` with `shingled`, at least
        `threshold`, if any; ties go to the earliest document."""
        candidates: set[int] = set()
        for key in self.hasher.band_keys(shingled.signature):
            held = self._buckets.get(key)
            if isinstance(held, int):
                candidates.add(held)
            elif held is not None:
                candidates.update(held)
        best: tuple[float, int] | None = None
        for number in sorted(candidates):
            score = containment(shingled, self._signatures[number])
            if score >= threshold and (best is None or score > best[0]):
                best = (score, number)
        return None if best is None else best[1]

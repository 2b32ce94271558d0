"""MinHash signatures over word shingles and a banded LSH index for near-duplicate lookup.

Vectorised with numpy rather than `datasketch.MinHash`: hashing every shingle through SHA-1
one by one is the slowest step of the clusterer, while here token hashes (CRC-32, stable across
processes, unlike `hash()`) are combined into shingle hashes and permuted as whole arrays.
"""

from __future__ import annotations

import zlib

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


class MinHasher:
    """Signatures of `bands * rows` values: the minimum of each hash permutation over shingles."""

    def __init__(self, bands: int, rows: int, shingle_size: int) -> None:
        self.bands = bands
        self.rows = rows
        self.shingle_size = shingle_size
        rng = np.random.default_rng(_SEED)
        size = bands * rows
        self._multipliers = rng.integers(1, 2**63, size=size, dtype=np.uint64) | np.uint64(1)
        self._offsets = rng.integers(0, 2**63, size=size, dtype=np.uint64)
        self._band_coefficients = rng.integers(1, 2**63, size=rows, dtype=np.uint64)
        self._band_salts = rng.integers(0, 2**63, size=bands, dtype=np.uint64)

    def signature(self, words: list[str]) -> Signature | None:
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
        return top_bits.min(axis=0).astype(np.uint32)

    def band_keys(self, signature: Signature) -> list[int]:
        """One bucket key per band; two signatures share a key when a whole band is equal."""
        bands = signature.astype(np.uint64).reshape(self.bands, self.rows)
        keys = _mix((bands * self._band_coefficients).sum(axis=1) + self._band_salts)
        return [int(key) for key in keys]


def similarity(first: Signature, second: Signature) -> float:
    """The estimated Jaccard similarity of the two shingle sets."""
    return float(np.count_nonzero(first == second)) / len(first)


class NearDuplicateIndex:
    """Band buckets of the signatures of the documents in the window, keyed by document number."""

    def __init__(self, hasher: MinHasher) -> None:
        self.hasher = hasher
        self._buckets: dict[int, int | list[int]] = {}
        self._signatures: dict[int, Signature] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, number: int, signature: Signature) -> None:
        """Index document `number` under each of its band keys."""
        self._signatures[number] = signature
        for key in self.hasher.band_keys(signature):
            held = self._buckets.get(key)
            if held is None:
                self._buckets[key] = number
            elif isinstance(held, int):
                self._buckets[key] = [held, number]
            else:
                held.append(number)

    def remove(self, number: int) -> None:
        """Forget document `number` (it left the window)."""
        signature = self._signatures.pop(number, None)
        if signature is None:
            return
        for key in self.hasher.band_keys(signature):
            held = self._buckets.get(key)
            if held == number:
                del self._buckets[key]
            elif isinstance(held, list):
                held.remove(number)
                if len(held) == 1:
                    self._buckets[key] = held[0]

    def best_match(self, signature: Signature, threshold: float) -> int | None:
        """The indexed document most similar to `signature` at or above `threshold`, if any;
        ties go to the earliest document."""
        candidates: set[int] = set()
        for key in self.hasher.band_keys(signature):
            held = self._buckets.get(key)
            if isinstance(held, int):
                candidates.add(held)
            elif held is not None:
                candidates.update(held)
        best: tuple[float, int] | None = None
        for number in sorted(candidates):
            score = similarity(signature, self._signatures[number])
            if score >= threshold and (best is None or score > best[0]):
                best = (score, number)
        return None if best is None else best[1]

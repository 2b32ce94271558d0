"""Columns for saving and restoring the window in bulk: term ids, ragged rows, groups."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")
Ints = npt.NDArray[np.int64]


class Vocabulary:
    """Term ids, given in order of first sight, so that term columns are integer arrays."""

    def __init__(self) -> None:
        self._ids: defaultdict[str, int] = defaultdict()
        self._ids.default_factory = self._ids.__len__  # a new term gets the next id

    def ids(self, terms: Iterable[str]) -> npt.NDArray[np.int32]:
        """The id of each term, new terms numbered as they come."""
        return np.fromiter(map(self._ids.__getitem__, terms), dtype=np.int32)

    def terms(self) -> list[str]:
        """Every term, at the index of its id."""
        return list(self._ids)


def lengths(rows: Iterable[Sized]) -> Ints:
    """The length of each row, for a ragged column stored flat."""
    return np.fromiter(map(len, rows), dtype=np.int64)


def flat(rows: Iterable[Iterable[T]]) -> Iterator[T]:
    """The items of all rows, one after another."""
    return chain.from_iterable(rows)


def rows(items: Iterable[T], row_lengths: Ints) -> Iterator[tuple[T, ...]]:
    """The rows of a flat column, cut at `row_lengths`."""
    source = iter(items)
    for length in row_lengths.tolist():
        yield tuple(islice(source, length))


def sorted_groups(keys: npt.NDArray[Any], values: npt.NDArray[Any]) -> tuple[Any, Ints, Ints, Any]:
    """`values` grouped by equal `keys`: (each key, start and count of its group, the values
    ordered by key, in their original order within a group)."""
    order = np.argsort(keys, kind="stable")
    ordered_keys, ordered_values = keys[order], values[order]
    if len(ordered_keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ordered_keys, empty, empty, ordered_values
    starts = np.flatnonzero(np.concatenate(([True], ordered_keys[1:] != ordered_keys[:-1])))
    counts = np.diff(np.concatenate((starts, [len(ordered_keys)])))
    return ordered_keys[starts], starts, counts, ordered_values


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the block runs: restoring a window creates
    millions of objects that all stay alive, and each collection on the way would walk them
    again (a 100,000-article window restored about 40% faster without them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

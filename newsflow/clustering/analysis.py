"""What the clusterer reads of a document's text, worked out apart from the window.

The text's content hash, its MinHash signature and its terms depend on the settings alone,
not on the stories in the window, and they are about half of `StoryClusterer.add`'s work at
a full window. `Analyser.analyse` works them out, so that the cluster service can do it in
the stage's process while the clusterer's process places the batch before
(`newsflow.clustering.process`); `StoryClusterer.add` analyses a document itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from newsflow.clustering.minhash import MinHasher, Shingled, exact_key
from newsflow.clustering.model import Document
from newsflow.clustering.tokens import Terms, extract_terms, shingle_words
from newsflow.config import ClusterSettings


@dataclass(frozen=True, slots=True)
class Analysed:
    """A document as the clusterer takes it in: what the window keeps of it (`time` in POSIX
    seconds, None when it has no publication time), and what its text gives: the exact-copy
    key, the shingle signature (None for a text without words) and the terms."""

    id: str
    title: str
    time: float | None
    source: str | None
    language: str | None
    content_hash: str | None
    shingled: Shingled | None
    terms: Terms


class Analyser:
    """Analyses documents under one set of clustering settings (those of the clusterer that
    takes them in: its signatures depend on them)."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.hasher = MinHasher(
            settings.minhash_permutations,
            settings.lsh_bands,
            settings.lsh_rows,
            settings.shingle_size,
        )

    def analyse(self, doc: Document) -> Analysed:
        """`doc` with its text analysed; a publication time without a time zone is UTC."""
        settings = self.settings
        published = doc.published_at
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        return Analysed(
            id=doc.id,
            title=doc.title,
            time=None if published is None else published.timestamp(),
            source=doc.source,
            language=doc.language,
            content_hash=exact_key(doc.text),
            shingled=self.hasher.shingle(shingle_words(doc.text, settings.shingle_tokens)),
            terms=extract_terms(
                doc.title, doc.text, doc.language, settings.lead_tokens, settings.title_weight
            ),
        )

"""The story linker behind the clusterer: the real model on the QwQ-32B launch week, and its
rules (other languages only, within the window, into the older story, each article once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from newsflow.clustering import Document, Merges, StoryClusterer
from newsflow.config import ClusterSettings
from newsflow.linking import E5Embedder, Sighting, StoryLinker
from newsflow.linking.sightings import follow_clusterer
from tests.linking.conftest import qwq_stream

_T0 = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)


def _final_stories(
    documents: list[Document], settings: ClusterSettings, model: E5Embedder
) -> dict[str, str]:
    """Each document's story at the end, with the linker following the clusterer."""
    clusterer, merges = StoryClusterer(settings), Merges()
    linker = StoryLinker(settings, model)
    assignments = []
    for doc in documents:
        assignment = clusterer.add(doc)
        merges.record(assignment)
        follow_clusterer(linker, merges, doc, assignment)
        assignments.append(assignment)
    return {a.doc_id: merges.final(a.story_id) for a in assignments}


def test_seeds_and_their_german_and_french_write_ups_become_one_story(
    linking_settings: ClusterSettings, model: E5Embedder
) -> None:
    stories = _final_stories(qwq_stream(), linking_settings, model)
    qwq = {stories[key] for key in stories if key.endswith(".txt") or key.startswith("qwq-")}
    assert len(qwq) == 1
    (story,) = qwq
    assert stories["manus-es"] != story
    assert stories["gpt45-de"] != story
    assert stories["manus-es"] != stories["gpt45-de"]


def test_without_linking_the_languages_stay_apart(
    linking_settings: ClusterSettings, model: E5Embedder
) -> None:
    unlinked = linking_settings.model_copy(update={"link_threshold": 1.0})
    stories = _final_stories(qwq_stream(), unlinked, model)
    qwq = {stories[key] for key in stories if key.endswith(".txt") or key.startswith("qwq-")}
    assert len(qwq) > 1  # the clusterer alone shares names, not words, across languages


class TableEmbedder:
    """Vectors chosen by the test: a text's first word names its vector."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = {
            key: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for key, v in vectors.items()
        }
        self.calls = 0

    def embed(self, text: str) -> NDArray[np.float32]:
        self.calls += 1
        return self.vectors[text.split()[0]]


def _sighting(story: str, article: str, language: str, hours: float = 0.0) -> Sighting:
    return Sighting(story, article, f"{story} headline", "", language, _T0 + timedelta(hours=hours))


def _linker(settings: ClusterSettings) -> tuple[StoryLinker, TableEmbedder]:
    embedder = TableEmbedder({"a": [1, 0, 0], "b": [1, 0.05, 0], "c": [0, 1, 0]})
    return StoryLinker(settings, embedder), embedder


def test_close_stories_of_different_languages_link_into_the_older(
    linking_settings: ClusterSettings,
) -> None:
    linker, _ = _linker(linking_settings)
    assert linker.observe(_sighting("a", "a1", "en", hours=1)) is None
    link = linker.observe(_sighting("b", "b1", "de", hours=2))
    assert link is not None
    assert (link.absorbed, link.into) == ("b", "a")
    assert link.similarity > 0.99
    assert linker.merges.final("b") == "a"
    assert linker.observe(_sighting("c", "c1", "fr", hours=3)) is None  # not close


def test_stories_of_one_language_are_never_linked(linking_settings: ClusterSettings) -> None:
    linker, _ = _linker(linking_settings)
    linker.observe(_sighting("a", "a1", "en"))
    assert linker.observe(_sighting("b", "b1", "en")) is None
    assert linker.merges.final("b") == "b"


def test_a_group_takes_no_second_story_of_a_language_it_has(
    linking_settings: ClusterSettings,
) -> None:
    embedder = TableEmbedder({"a": [1, 0], "b": [1, 0.01], "d": [1, 0.02]})
    linker = StoryLinker(linking_settings, embedder)
    linker.observe(_sighting("a", "a1", "en"))
    assert linker.observe(_sighting("b", "b1", "de")) is not None
    # d is German like b: it may not join the group of a and b.
    assert linker.observe(_sighting("d", "d1", "de")) is None


def test_stories_further_apart_than_the_window_are_not_linked(
    linking_settings: ClusterSettings,
) -> None:
    linker, _ = _linker(linking_settings)
    linker.observe(_sighting("a", "a1", "en"))
    late = linking_settings.window_hours + 1
    assert linker.observe(_sighting("b", "b1", "de", hours=late)) is None


def test_stories_are_embedded_per_story_not_per_article(
    linking_settings: ClusterSettings,
) -> None:
    linker, embedder = _linker(linking_settings)
    for number in range(1, 9):
        linker.observe(_sighting("a", f"a{number}", "en", hours=number))
    linker.observe(_sighting("a", "a8", "en", hours=8))  # delivered again
    assert embedder.calls == linker.embeddings == 3  # at 1, 2 and 4 articles
    assert len(linker) == 1


def test_stories_are_forgotten_two_windows_after_their_last_article(
    linking_settings: ClusterSettings,
) -> None:
    linker, _ = _linker(linking_settings)
    linker.observe(_sighting("a", "a1", "en"))
    later = 2 * linking_settings.window_hours + 1
    linker.observe(_sighting("c", "c1", "fr", hours=later))
    assert "a" not in linker
    assert "c" in linker


def test_merges_of_stories_closed_for_long_are_dropped_and_live_chains_kept(
    linking_settings: ClusterSettings,
) -> None:
    pairs, step = 300, linking_settings.window_hours / 4
    names = ["x", *(f"{lang}{n}" for n in range(pairs) for lang in ("en", "de"))]
    embedder = TableEmbedder({name: np.eye(len(names))[i] for i, name in enumerate(names)})
    for n in range(pairs):  # an English and a German story of one event share a vector
        embedder.vectors[f"de{n}"] = embedder.vectors[f"en{n}"]
    linker = StoryLinker(linking_settings, embedder)
    linker.observe(_sighting("x", "x0", "fr"))
    linker.note_merge("x", "old")  # the clusterer merged x away; x keeps getting articles
    links = []
    for n in range(pairs):
        links.append(linker.observe(_sighting(f"en{n}", f"en{n}a", "en", hours=n * step)))
        links.append(linker.observe(_sighting(f"de{n}", f"de{n}a", "de", hours=n * step + 1)))
        linker.observe(_sighting("x", f"x{n + 1}", "fr", hours=n * step))
    assert sum(link is not None for link in links) == pairs
    edges = linker.merges.edges()
    recent = 2 * 4  # pairs within the last two windows
    assert len(edges) <= 2 * (recent + 1) + 64  # not one per pair ever linked
    assert "de0" not in edges  # closed long ago
    assert edges[f"de{pairs - 1}"] == f"en{pairs - 1}"
    assert linker.merges.final("x") == "old"  # x is held, so its merge is kept however old
    restored = StoryLinker.restore(linking_settings, embedder, linker.state())
    assert restored.merges.edges() == edges
    assert restored.state() == linker.state()

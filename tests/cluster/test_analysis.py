"""Documents analysed apart from the window, as the cluster service does in the stage's
process: they survive the trip to another process and cluster as if analysed by the window."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC

import numpy as np

from newsflow.clustering import Document, StoryClusterer
from newsflow.clustering.analysis import Analyser
from newsflow.clustering.minhash import containment
from newsflow.config import ClusterSettings
from tests.cluster.conftest import event_write_up, seed_documents


def _stream() -> list[Document]:
    """Write-ups of three events, an exact copy, a copy with no time and a blank text."""
    documents = [event_write_up(f"d{n}", n % 3, 17, f"outlet-{n}") for n in range(9)]
    copy = replace(documents[0], id="copy", source="wire")
    undated = replace(documents[1], id="undated", published_at=None)
    blank = Document("blank", "Nothing here", "   ")
    return [*seed_documents(), *documents, copy, undated, blank]


def test_documents_analysed_elsewhere_cluster_as_documents_added_whole(
    settings: ClusterSettings,
) -> None:
    stream = _stream()
    whole = StoryClusterer(settings)
    expected = [whole.add(document) for document in stream]
    analyser, apart = Analyser(settings), StoryClusterer(settings)
    shipped = pickle.loads(pickle.dumps([analyser.analyse(d) for d in stream]))
    assert [apart.add_analysed(document) for document in shipped] == expected
    assert expected[-3].duplicate_of == "d0"  # the stream has copies
    assert expected[0].story_id == expected[1].story_id  # and a story of two outlets


def test_a_pickled_signature_is_the_same_signature(settings: ClusterSettings) -> None:
    first, second = (Analyser(settings).analyse(d).shingled for d in seed_documents())
    assert first is not None and second is not None
    again = pickle.loads(pickle.dumps(first))
    assert again.signature.dtype == np.uint32
    assert np.array_equal(again.signature, first.signature)
    assert (again.size, again.band_keys) == (first.size, first.band_keys)
    assert containment(again, second) == containment(first, second)


def test_a_time_without_a_zone_is_utc(settings: ClusterSettings) -> None:
    aware = seed_documents()[0]
    assert aware.published_at is not None
    naive = replace(aware, published_at=aware.published_at.astimezone(UTC).replace(tzinfo=None))
    analyser = Analyser(settings)
    assert analyser.analyse(naive).time == aware.published_at.timestamp()
    assert analyser.analyse(replace(aware, published_at=None)).time is None


def test_a_blank_text_has_no_signature_and_no_copy_key(settings: ClusterSettings) -> None:
    analysed = Analyser(settings).analyse(Document("b", "A title only", " \n "))
    assert (analysed.content_hash, analysed.shingled) == (None, None)
    assert analysed.terms.counts  # the title still gives terms

"""Documents analysed apart from the window, as the cluster service does in the stage's
process: they survive the trip to another process and cluster as if analysed by the window."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from newsflow.clustering import Document, StoryClusterer
from newsflow.clustering.analysis import Analyser
from newsflow.clustering.minhash import containment
from newsflow.config import ClusterSettings
from tests.cluster.conftest import event_write_up, seed_documents


def _stream() -> list[Document]:
    """Write-ups of three events over two days, an exact copy, a time without a zone, no
    time, a blank text, NUL characters, and an id delivered again with another text."""
    documents = [
        replace(
            event_write_up(f"d{n}", n % 3, 17, f"outlet-{n}"),
            published_at=datetime(2025, 3, 6, tzinfo=UTC) + timedelta(hours=5 * n),
        )
        for n in range(9)
    ]
    copy = replace(documents[0], id="copy", source="wire")
    naive = replace(documents[4], id="naive", published_at=datetime(2025, 3, 7, 1))
    undated = replace(documents[1], id="undated", published_at=None)
    blank = Document("blank", "Nothing here", "   ")
    nul = replace(documents[2], id="nul", text=documents[2].text.replace(" ", "\x00") + "\x00")
    again = replace(documents[3], text="Another text under the same id.")
    return [*seed_documents(), *documents, copy, naive, undated, blank, nul, again]


def test_documents_analysed_in_another_process_cluster_as_those_analysed_in_place(
    settings: ClusterSettings,
) -> None:
    stream = _stream()
    in_place = StoryClusterer(settings)
    expected = [in_place.add(document) for document in stream]
    analyser, elsewhere = Analyser(settings), StoryClusterer(settings)
    shipped = pickle.loads(pickle.dumps([analyser.analyse(d) for d in stream]))
    assert [elsewhere.add_analysed(document) for document in shipped] == expected
    by_id = {a.doc_id: a for a in expected}
    assert by_id["copy"].duplicate_of == "d0" and by_id["nul"].duplicate_of == "d2"
    assert expected[0].story_id == expected[1].story_id  # the seeds: one story, two outlets
    first_d3 = next(a for a in expected if a.doc_id == "d3")
    assert expected[-1] == replace(first_d3, story=expected[-1].story)  # known id: as before


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


def test_nul_characters_separate_words_like_white_space(settings: ClusterSettings) -> None:
    analyser = Analyser(settings)
    spaced = analyser.analyse(Document("s", "T", "alpha beta gamma"))
    for text in ("alpha\x00beta gamma", "alpha beta gamma\x00", "\x00alpha beta\x00\x00gamma"):
        shingled = analyser.analyse(Document("n", "T", text)).shingled
        assert shingled is not None and spaced.shingled is not None
        assert np.array_equal(shingled.signature, spaced.shingled.signature), text
    assert analyser.analyse(Document("n", "T", "\x00")).shingled is None

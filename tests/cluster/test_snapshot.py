"""Saving and restoring the clusterer's window."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.cluster_data import read_labelled, syndicated_copy
from newsflow.clustering import Document, StoryClusterer
from newsflow.clustering.snapshot import (
    MAGIC,
    SNAPSHOT_FORMAT,
    SnapshotError,
    decode_state,
    encode_state,
)
from newsflow.config import ClusterSettings
from tests.cluster.conftest import event_write_up, paired_write_ups

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _assign(clusterer: StoryClusterer, documents: list[Document]) -> list[tuple[str, ...]]:
    return [
        (a.story_id, a.duplicate_of or "", str(a.story.article_count), *a.story.merged_from)
        for a in map(clusterer.add, documents)
    ]


def test_a_restored_clusterer_continues_exactly_where_it_stopped(
    settings: ClusterSettings, same_story_val: Path, tmp_path: Path
) -> None:
    rows = read_labelled(same_story_val)[:300]
    documents = [row.doc for row in rows]
    documents[150:150] = [syndicated_copy(doc) for doc in documents[:3]]
    uninterrupted = _assign(StoryClusterer(settings), documents)

    first = StoryClusterer(settings)
    before = _assign(first, documents[:160])
    state = tmp_path / "state" / "cluster.state"
    first.save(state)
    restored = StoryClusterer.load(state, settings)
    after = _assign(restored, documents[160:])

    assert before + after == uninterrupted
    assert not list(state.parent.glob(".*")), "no temporary file is left behind"


def test_a_restored_clusterer_ages_stories_against_the_same_lagged_clock(
    settings: ClusterSettings, same_story_val: Path, tmp_path: Path
) -> None:
    """One article every 6 hours; redeliveries right after the save find their stories only
    while the clock of 40 arrivals ago, saved with the state, keeps them in the window."""
    lagged = settings.model_copy(update={"window_lag_articles": 40})
    rows = read_labelled(same_story_val)[:200]
    documents = [
        replace(row.doc, published_at=T0 + timedelta(hours=6 * n)) for n, row in enumerate(rows)
    ]
    stream = documents[:160] + documents[110:130] + documents[160:]
    uninterrupted = _assign(StoryClusterer(lagged), stream)
    assert any(int(count) > 1 for _, _, count, *_ in uninterrupted[160:180])

    first = StoryClusterer(lagged)
    before = _assign(first, stream[:160])
    first.save(tmp_path / "state")
    after = _assign(StoryClusterer.load(tmp_path / "state", lagged), stream[160:])
    assert before + after == uninterrupted


def test_restored_state_answers_redeliveries(settings: ClusterSettings, tmp_path: Path) -> None:
    clusterer = StoryClusterer(settings)
    assigned = clusterer.add(Document("a", "Title", "Some text about a harbour strike."))
    clusterer.save(tmp_path / "state")
    again = StoryClusterer.load(tmp_path / "state", settings).add(Document("a", "Title", "x"))
    assert again.story_id == assigned.story_id
    assert again.story.article_count == 1


def test_a_damaged_state_file_is_refused_clearly(settings: ClusterSettings, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_bytes(b"not a state at all")
    with pytest.raises(SnapshotError, match="not a clusterer state"):
        StoryClusterer.load(broken, settings)
    with pytest.raises(SnapshotError, match="cannot read"):
        StoryClusterer.load(tmp_path / "missing", settings)
    older = tmp_path / "older"
    header = json.dumps({"format": SNAPSHOT_FORMAT - 1}).encode()
    older.write_bytes(MAGIC + bytes(8) + len(header).to_bytes(8, "little") + header)
    expected = f"format {SNAPSHOT_FORMAT - 1}, this version reads format {SNAPSHOT_FORMAT}: delete"
    with pytest.raises(SnapshotError, match=expected):
        StoryClusterer.load(older, settings)


def test_a_truncated_or_tampered_state_is_refused_not_misread(
    settings: ClusterSettings, tmp_path: Path
) -> None:
    clusterer = StoryClusterer(settings)
    for n in range(20):
        clusterer.add(Document(f"d{n}", f"Harbour strike day {n}", f"Dockers in port {n} strike."))
    data = clusterer.to_bytes()
    with pytest.raises(SnapshotError, match="damaged"):
        StoryClusterer.from_bytes(data[:-100], settings)
    # A term id pointing past the vocabulary: the header is intact, one array lies.
    fields, arrays = decode_state(data, "test")
    arrays = {**arrays, "member_terms": arrays["member_terms"] + 10_000}
    with pytest.raises(SnapshotError, match="damaged"):
        StoryClusterer.from_bytes(encode_state(20, fields, arrays), settings)


def test_a_state_with_other_shingling_settings_is_refused(
    settings: ClusterSettings, tmp_path: Path
) -> None:
    clusterer = StoryClusterer(settings)
    clusterer.add(Document("a", "Title", "Some text about a harbour strike."))
    clusterer.save(tmp_path / "state")
    other = settings.model_copy(update={"shingle_size": settings.shingle_size + 1})
    with pytest.raises(SnapshotError, match="shingle_size"):
        StoryClusterer.load(tmp_path / "state", other)


def test_a_restored_clusterer_keeps_what_it_learned_about_outlets(
    settings: ClusterSettings, tmp_path: Path
) -> None:
    """Forty events written up by two distinct outlets each: outlets do not repeat, so after
    the restore a loosely worded second article of one outlet still opens a story."""
    clusterer = StoryClusterer(settings)
    stories = paired_write_ups(clusterer, second_outlet=lambda event: f"other-{event}")
    state = tmp_path / "cluster.state"
    clusterer.save(state)
    restored = StoryClusterer.load(state, settings)

    assert restored.add(event_write_up("e0c", 0, 9, "outlet-0")).story_id != stories[0]
    assert restored.add(event_write_up("e0d", 0, 9, "outlet-new")).story_id == stories[0]


@pytest.mark.parametrize(
    "documents",
    [
        pytest.param([], id="empty window"),
        pytest.param(
            [Document(f"short{n}", "Brief", "Too short to shingle.", T0) for n in range(3)],
            id="no article long enough to shingle",
        ),
    ],
)
def test_a_window_without_signatures_is_restored(
    settings: ClusterSettings, documents: list[Document]
) -> None:
    """A checkpoint is written once articles were handled, even when none stayed in the
    window or none had enough words for a signature; restarting from it must work."""
    clusterer = StoryClusterer(settings)
    assigned = _assign(clusterer, documents)
    restored = StoryClusterer.from_bytes(clusterer.to_bytes(), settings)
    assert len(restored) == len(documents)
    again = [restored.add(doc).story_id for doc in documents]
    assert again == [story_id for story_id, *_ in assigned]  # recognised: the same stories
    assert restored.add(event_write_up("long", 1, 20, "outlet")).story_id

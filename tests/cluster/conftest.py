"""Fixtures of the clustering tests: settings, seed articles, corpus articles and copies, and
made-up write-ups of events by chosen outlets."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.cluster_data import CORPUS, SAME_STORY, corpus_articles
from newsflow.clustering import Document, StoryClusterer
from newsflow.config import ClusterSettings

REPO = Path(__file__).resolve().parents[2]
_EVENT_TIME = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> ClusterSettings:
    """The default settings, whatever the environment or a config file says."""
    return ClusterSettings.model_construct()


def seed_documents() -> list[Document]:
    """The two seed write-ups of one launch: title = first line, text = the rest."""
    manifest = json.loads((REPO / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    documents = []
    for entry in manifest["articles"]:
        raw = (REPO / "seeds" / entry["file"]).read_text(encoding="utf-8")
        title, _, text = raw.partition("\n")
        documents.append(
            Document(
                id=entry["file"],
                title=title.strip(),
                text=text.strip(),
                published_at=datetime.fromisoformat(entry["published_at"]),
                source=entry["outlet"],
                url=entry["url"],
                language="en",
            )
        )
    return documents


def bridged_stories() -> list[Document]:
    """Two unrelated articles, then one that matches both: at join and merge thresholds of 0.3
    it merges their stories."""
    texts = [
        ("a", "Zephyrine Okonkwo wins Halvorsen prize", "Okonkwo Halvorsen Zephyrine", "one"),
        ("b", "Quarmby Institute funds Vasquez lab", "Quarmby Vasquez Institute", "two"),
        ("c", "Okonkwo Halvorsen Zephyrine Quarmby Vasquez Institute", "prize lab funds", "three"),
    ]
    return [
        Document(doc_id, title, text, _EVENT_TIME + timedelta(hours=hour), source)
        for hour, (doc_id, title, text, source) in enumerate(texts)
    ]


@pytest.fixture(scope="session")
def corpus() -> list[Document]:
    """Articles extracted from the first shared corpus pages (skipped without the corpus)."""
    if not (CORPUS / "manifest.json").is_file():
        pytest.skip("shared corpus not found beside the repo (../shared/corpus)")
    return corpus_articles(CORPUS, limit=40)


@pytest.fixture(scope="session")
def same_story_val() -> Path:
    path = SAME_STORY / "allsides_val.jsonl"
    if not path.is_file():
        pytest.skip("same-story dataset not found beside the repo (../shared/datasets)")
    return path


def _event_words(event: int) -> list[str]:
    """Twenty made-up words of one event, shared with no other event."""
    tag = chr(97 + event // 26) + chr(97 + event % 26)
    stems = ["kestr", "marl", "ovat", "plimb", "quorv", "rusk", "sprag", "tolv", "umbr", "vesk"]
    return [f"{stem}{tag}{suffix}q" for suffix in ("o", "u") for stem in stems]


def event_write_up(doc_id: str, event: int, shared: int, outlet: str) -> Document:
    """An article on `event` using `shared` of its words (in an order of its own, so that it
    is no copy) and words of its own for the rest."""
    words = _event_words(event)[:shared] + [f"{doc_id}w{n}q" for n in range(20 - shared)]
    random.Random(doc_id).shuffle(words)
    return Document(
        doc_id,
        " ".join(words[:4]),
        " ".join(words),
        published_at=_EVENT_TIME,
        source=outlet,
    )


def paired_write_ups(
    clusterer: StoryClusterer, second_outlet: Callable[[int], str]
) -> dict[int, str]:
    """Forty events, each written up in close words by `outlet-EVENT` and then by
    `second_outlet(event)` (confident matches); the story id of each event."""
    stories = {}
    for event in range(40):
        first = clusterer.add(event_write_up(f"e{event}a", event, 20, f"outlet-{event}"))
        second = clusterer.add(event_write_up(f"e{event}b", event, 17, second_outlet(event)))
        assert second.story_id == first.story_id
        stories[event] = first.story_id
    return stories

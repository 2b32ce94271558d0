"""Fixtures of the clustering tests: settings, seed articles, corpus articles and copies."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.cluster_data import CORPUS, SAME_STORY, corpus_articles
from newsflow.clustering import Document
from newsflow.config import ClusterSettings

REPO = Path(__file__).resolve().parents[2]


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

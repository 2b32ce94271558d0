"""Data for the clustering benchmarks and tests: labelled JSONL, corpus pages, copies.

Everything here is deterministic: the same inputs give the same documents on every run.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.clustering import Document
from newsflow.clustering.records import document_from_record
from newsflow.extract import PageInput, extract_article
from newsflow.outcomes import Skip
from newsflow.sources import SourceItem
from newsflow.text import content_hash
from newsflow.urls import article_id, canonicalize
from schemas import Article

REPO = Path(__file__).resolve().parents[1]
# `<repo>/../shared`; from a git worktree nested one level deeper, the nearest such folder up.
SHARED = next(
    (folder / "shared" for folder in REPO.parents if (folder / "shared").is_dir()),
    REPO.parent / "shared",
)
SAME_STORY = SHARED / "datasets" / "same-story"
CORPUS = SHARED / "corpus"

BOILERPLATE = (
    "This article was first published by our partners and is republished here under a "
    "syndication agreement. Subscribe to our newsletter for the day's top stories, and follow "
    "us on social media for breaking news alerts."
)


@dataclass(frozen=True)
class Labelled:
    """A document and the story label it carries in the dataset."""

    doc: Document
    label: str


def read_labelled(path: Path) -> list[Labelled]:
    """The labelled documents of a JSONL file (fields of `newsflow cluster` plus "label")."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record.get("label"), str):
                raise ValueError(f"{path}:{number}: missing string field 'label'")
            rows.append(Labelled(document_from_record(record), record["label"]))
    return rows


def corpus_articles(corpus: Path, limit: int | None = None, min_chars: int = 400) -> list[Document]:
    """Articles extracted from the corpus pages (in manifest order) by the pipeline's extractor,
    skipping pages with less than `min_chars` of text. Undated: page dates span years, and
    these stand for articles of one moment."""
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    fetched_at = datetime(2025, 1, 1, tzinfo=UTC)
    documents: list[Document] = []
    for entry in manifest:
        if limit is not None and len(documents) >= limit:
            break
        url = (
            entry["url"]
            if entry["url"].startswith("http")
            else f"https://corpus.invalid/{entry['file']}"
        )
        page = PageInput((corpus / "html" / entry["file"]).read_bytes(), url, fetched_at)
        article = extract_article(page, SourceItem(url=url))
        if isinstance(article, Skip) or len(article.text) < min_chars:
            continue
        documents.append(
            Document(
                id=entry["file"],
                title=article.title,
                text=article.text,
                url=url,
                language=article.language,
                source=article.source,
            )
        )
    return documents


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def syndicated_copy(original: Document, seed: int = 0) -> Document:
    """A republished copy: new headline, a few sentences edited, a boilerplate paragraph added."""
    rng = random.Random(f"{seed}:{original.id}")
    paragraphs = [p for p in original.text.splitlines() if p.strip()]
    sentences = [(i, s) for i, p in enumerate(paragraphs) for s in _SENTENCE.split(p)]
    for index in sorted(rng.sample(range(len(sentences)), k=min(3, len(sentences)))):
        paragraph, sentence = sentences[index]
        words = sentence.split()
        if len(words) > 4:
            edited = " ".join([*words[:2], "reportedly", *words[2:-1], "today."])
            paragraphs[paragraph] = paragraphs[paragraph].replace(sentence, edited, 1)
    return replace(
        original,
        id=f"{original.id}#copy{seed}",
        title=f"{original.title.split(':')[0]}: what we know so far",
        text="\n".join([*paragraphs, BOILERPLATE]),
        url=None,
        source="Example Syndicate",
    )


def without_sources(rows: list[Labelled]) -> list[Labelled]:
    """The rows with their outlet names removed."""
    return [replace(row, doc=replace(row.doc, source=None)) for row in rows]


def scrambled_sources(rows: list[Labelled], outlets: int = 15, seed: int = 0) -> list[Labelled]:
    """The rows with each story's articles given distinct outlets drawn from a pool of `outlets`.

    In the AllSides files the outlet names are positions ("outlet-0" opens every story), so in
    file order a same-outlet rule alone would tell where stories start; here, as in real news,
    every outlet writes up many stories and a story's first article can come from any of them."""
    rng = random.Random(seed)
    drawn: dict[str, list[int]] = {}
    result = []
    for row in rows:
        pool = drawn.setdefault(row.label, rng.sample(range(outlets), outlets))
        outlet = pool.pop() if pool else rng.randrange(outlets)
        result.append(replace(row, doc=replace(row.doc, source=f"outlet-{outlet}")))
    return result


def with_follow_ups(rows: list[Labelled], share: float = 0.3, seed: int = 0) -> list[Labelled]:
    """The rows with, in a `share` of the stories drawn at random, the second article given the
    outlet of the first: an outlet writing a follow-up, as wires and live pages do."""
    rng = random.Random(seed)
    first_outlet: dict[str, str | None] = {}
    follows: dict[str, bool] = {}
    result = []
    for row in rows:
        if row.label not in first_outlet:
            first_outlet[row.label] = row.doc.source
            follows[row.label] = rng.random() < share
        elif follows[row.label]:
            follows[row.label] = False
            row = replace(row, doc=replace(row.doc, source=first_outlet[row.label]))
        result.append(row)
    return result


def with_varied_sizes(rows: list[Labelled], seed: int = 0) -> list[Labelled]:
    """The rows with each story cut to a random 1, 2 or all 3 of its articles (file order
    kept): real streams hold stories of every size, singletons most of all, where the dev files
    give every story exactly three articles, a shape a method can lean on without showing it."""
    rng = random.Random(seed)
    by_story: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        by_story.setdefault(row.label, []).append(position)
    kept: set[int] = set()
    for positions in by_story.values():
        kept.update(rng.sample(positions, rng.randint(1, len(positions))))
    return [row for position, row in enumerate(rows) if position in kept]


_DATES_START = datetime(2019, 1, 1, tzinfo=UTC)


def dated(rows: list[Labelled], span_days: float, seed: int = 0) -> list[Labelled]:
    """The rows with `published_at` set: each story on a random day of `span_days` from
    2019-01-01, its articles within the 12 hours after it; the file order is kept, so the dates
    are out of order as soon as stories are."""
    rng = random.Random(seed)
    days: dict[str, datetime] = {}
    result = []
    for row in rows:
        day = days.setdefault(row.label, _DATES_START + timedelta(days=rng.uniform(0, span_days)))
        published = day + timedelta(hours=rng.uniform(0, 12))
        result.append(replace(row, doc=replace(row.doc, published_at=published)))
    return result


def shuffled(rows: list[Labelled], seed: int = 0, block: int = 0) -> list[Labelled]:
    """The rows in a seeded random order within each run of `block` rows (0: all of them):
    stories interleaved instead of one after another."""
    size = block if block > 0 else max(len(rows), 1)
    rng = random.Random(seed)
    order: list[Labelled] = []
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        rng.shuffle(part)
        order += part
    return order


def as_article(doc: Document) -> Article:
    """The extracted article carrying `doc` (a made-up URL from its id, fetched when
    published), for running documents through the cluster stage on a bus."""
    url = f"https://bench.example.org/{doc.id}"
    when = (doc.published_at or datetime(2025, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return Article(
        id=article_id(canonicalize(url)),
        url=url,
        canonical_url=canonicalize(url),
        source=doc.source or "bench",
        title=doc.title,
        text=doc.text,
        published_at=when,
        fetched_at=when,
        content_hash=content_hash(doc.text),
    )

"""Throughput and memory of the story clusterer with a full window, against exact-hash dedup.

Synthesises articles deterministically from the same-story dataset (titles and sentences
recombined, each story given made-up names of its own), spaced in time so that the window
holds `--window` articles once full. Clusters `--window` articles to fill it, then
`--measure` more in steady state (stories expiring as they arrive), on one core. Reports
articles per second (fill and steady state), resident memory per 100,000 articles held in the
window at the end (stories kept by `window_lag_articles` included), and the ratio against a
plain exact-hash dedup pass over the same input in this run.

    python benchmarks/cluster_speed.py [--window 100000] [--measure 20000]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import SAME_STORY, read_labelled, syndicated_copy
from newsflow.clustering import Document, StoryClusterer
from newsflow.config import ClusterSettings
from newsflow.text import content_hash

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "te",
    "vo",
    "zi",
    "da",
    "fe",
    "gu",
    "hi",
    "jo",
    "pe",
    "qu",
    "ri",
    "so",
    "tu",
    "wa",
    "xe",
    "yo",
    "ba",
    "co",
]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def synthesise(count: int, window_hours: float, window: int, seed: int = 7) -> list[Document]:
    """`count` articles, `window` per window: stories of one to six articles, ~300 words each.

    An article of a story has the story's base text (a dataset article), a sentence naming the
    story's made-up people and ten filler sentences of other articles with their words shuffled
    (same vocabulary, no shared shingles); about one in eight is a syndicated copy of an earlier
    article of its story instead."""
    rows = [
        row.doc
        for name in ("allsides_train.jsonl", "allsides_val.jsonl")
        for row in read_labelled(SAME_STORY / name)
    ]
    sentences = [s.split() for doc in rows for s in _SENTENCE.split(doc.text) if len(s) > 40]
    rng = random.Random(seed)
    spacing = timedelta(hours=window_hours) / window
    documents: list[Document] = []
    while len(documents) < count:
        base = rng.choice(rows)
        names = f"{_name(rng)} {_name(rng)}", _name(rng)
        story: list[Document] = []
        for _ in range(rng.randint(1, 6)):
            number = len(documents)
            if story and rng.random() < 0.125:
                copy = syndicated_copy(rng.choice(story), seed=number)
                article = replace(copy, id=f"synthetic-{number}")
            else:
                filler = [
                    " ".join(rng.sample(words, len(words))) for words in rng.sample(sentences, 10)
                ]
                parts = [base.text, f"{names[0]} told {names[1]} on Monday.", *filler]
                article = Document(
                    id=f"synthetic-{number}",
                    title=f"{names[0]}: {base.title}",
                    text=" ".join(parts),
                    source=f"outlet-{rng.randrange(200)}",
                )
            article = replace(article, published_at=T0 + spacing * number)
            story.append(article)
            documents.append(article)
    return documents[:count]


def resident_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def hash_dedup_rate(documents: list[Document]) -> float:
    """Articles per second of a plain exact-hash dedup pass."""
    seen: dict[str, str] = {}
    started = time.perf_counter()
    for doc in documents:
        seen.setdefault(content_hash(doc.text), doc.id)
    return len(documents) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=100_000, help="articles in the window")
    parser.add_argument("--measure", type=int, default=20_000, help="steady-state articles")
    args = parser.parse_args(argv)
    settings = ClusterSettings()
    documents = synthesise(args.window + args.measure, settings.window_hours, args.window)
    documents += [replace(doc, id=f"{doc.id}-again") for doc in documents[-1000:]]
    words = sum(len(doc.text.split()) for doc in documents) / len(documents)
    print(f"{len(documents)} synthetic articles, {words:.0f} words on average")

    dedup = hash_dedup_rate(documents)
    gc.collect()
    before = resident_bytes()
    clusterer = StoryClusterer(settings)
    started = time.perf_counter()
    for doc in documents[: args.window]:
        clusterer.add(doc)
    fill_rate = args.window / (time.perf_counter() - started)
    rest = documents[args.window :]
    started = time.perf_counter()
    for doc in rest:
        clusterer.add(doc)
    steady_rate = len(rest) / (time.perf_counter() - started)
    gc.collect()
    held = len(clusterer)
    per_100k = (resident_bytes() - before) * 100_000 / held

    print(f"exact-hash dedup      {dedup:10,.0f} articles/s")
    print(f"clusterer, filling    {fill_rate:10,.0f} articles/s")
    print(
        f"clusterer, full window {steady_rate:9,.0f} articles/s "
        f"(target >= 2,000; {steady_rate / dedup:.3f} x exact-hash dedup)"
    )
    print(
        f"resident memory       {per_100k / 2**20:10,.0f} MiB per 100,000 articles in window "
        f"(target < 1,024; {held:,} held at the end)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

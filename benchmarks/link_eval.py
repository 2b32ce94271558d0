"""Cross-language story linking: quality with and without it, and what it costs per story.

Runs the story clusterer alone and the clusterer followed by the story linker (the code
`newsflow cluster` and the link stage run) over labelled JSONL, and prints B-cubed F1 for
both. Data: the multilingual development set (benchmarks/data/multilingual), as given and
shuffled, and with every story of the English same-story dev file (`--dev`) dated into the
same week as distractors; then the English dev views of `cluster_eval.py`, where linking must
cost nothing. Costs: embeddings per story, seconds per embedding, and the linker's time per
article as a fraction of the clusterer's.

    python benchmarks/link_eval.py [PATH] [--dev ../shared/.../allsides_val.jsonl]
                                   [--set link_threshold=0.9 ...] [--sweep]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import (
    REPO,
    SAME_STORY,
    Labelled,
    dated,
    read_labelled,
    scrambled_sources,
    shuffled,
    with_varied_sizes,
)
from benchmarks.cluster_eval import parse_overrides
from newsflow.clustering import Merges, StoryClusterer
from newsflow.clustering.metrics import bcubed
from newsflow.config import ClusterSettings
from newsflow.linking import E5Embedder, StoryLinker
from newsflow.linking.sightings import follow_clusterer

MULTILINGUAL = REPO / "benchmarks" / "data" / "multilingual" / "events-2025-03.jsonl"
_WEEK = datetime(2025, 3, 10, tzinfo=UTC)
MIXED = "multilingual + dev week"


@dataclass
class TimedEmbedder:
    """The real model, remembering each text's vector (sweeps and views repeat texts) and the
    time spent on the texts it embedded."""

    model: E5Embedder
    seconds: float = 0.0
    computed: int = 0
    cache: dict[str, NDArray[np.float32]] = field(default_factory=dict)

    def embed(self, text: str) -> NDArray[np.float32]:
        vector = self.cache.get(text)
        if vector is None:
            started = time.perf_counter()
            vector = self.cache[text] = self.model.embed(text)
            self.seconds += time.perf_counter() - started
            self.computed += 1
        return vector


@dataclass(frozen=True)
class Run:
    """One stream's story ids, without and with linking, and what the linker did."""

    clustered: list[str]
    linked: list[str]
    cluster_seconds: float
    stories: int
    embeddings: int
    links: int


def run(rows: list[Labelled], settings: ClusterSettings, embedder: TimedEmbedder) -> Run:
    """Cluster `rows` as one stream, then again with the linker following the clusterer."""
    clusterer, merges = StoryClusterer(settings), Merges()
    started = time.perf_counter()
    assignments = [clusterer.add(row.doc) for row in rows]
    cluster_seconds = time.perf_counter() - started
    for assignment in assignments:
        merges.record(assignment)
    clustered = [merges.final(a.story_id) for a in assignments]
    merges = Merges()
    linker = StoryLinker(settings, embedder)
    links = 0
    for row, assignment in zip(rows, assignments, strict=True):
        merges.record(assignment)
        links += follow_clusterer(linker, merges, row.doc, assignment) is not None
    linked = [merges.final(a.story_id) for a in assignments]
    stories = len({a.story_id for a in assignments})
    return Run(clustered, linked, cluster_seconds, stories, linker.embeddings, links)


def f1(predicted: list[str], rows: list[Labelled]) -> float:
    return bcubed(predicted, [row.label for row in rows]).f1


def linked_pairs(rows: list[Labelled], outcome: Run) -> tuple[int, int]:
    """Pairs of articles that only linking put together, and how many of them share a label."""
    groups: dict[str, list[int]] = {}
    for position, story in enumerate(outcome.linked):
        groups.setdefault(story, []).append(position)
    pairs = right = 0
    for members in groups.values():
        for n, i in enumerate(members):
            for j in members[n + 1 :]:
                if outcome.clustered[i] != outcome.clustered[j]:
                    pairs += 1
                    right += rows[i].label == rows[j].label
    return pairs, right


def report(name: str, rows: list[Labelled], outcome: Run) -> str:
    """One line: B-cubed F1 without and with linking, links made (with the share of the article
    pairs they made that are right), embeddings per story."""
    without, with_links = f1(outcome.clustered, rows), f1(outcome.linked, rows)
    pairs, right = linked_pairs(rows, outcome)
    return (
        f"{name:<26} B3 F1 {without:.3f} -> {with_links:.3f} ({with_links - without:+.3f}) | "
        f"{outcome.links} links ({right}/{pairs} pairs right), {outcome.stories} stories, "
        f"{outcome.embeddings / max(outcome.stories, 1):.2f} embeddings/story"
    )


def part_report(rows: list[Labelled], outcome: Run, ids: set[str]) -> str:
    """B-cubed F1 without and with linking over the rows with `ids`, then over the others,
    each part scored on its own within the one stream."""
    parts = []
    for name, keep in (("multilingual articles", True), ("dev articles", False)):
        chosen = [i for i, row in enumerate(rows) if (row.doc.id in ids) == keep]
        part = [rows[i] for i in chosen]
        without = f1([outcome.clustered[i] for i in chosen], part)
        linked = f1([outcome.linked[i] for i in chosen], part)
        parts.append(f"{name} {without:.3f} -> {linked:.3f} ({linked - without:+.3f})")
    return f"(of which {'; '.join(parts)})"


def in_week(rows: list[Labelled]) -> list[Labelled]:
    """`rows` dated within the week of the multilingual set (each story within 12 hours)."""
    moved = dated(rows, 6.0)
    offset = _WEEK - datetime(2019, 1, 1, tzinfo=UTC)
    return [
        replace(row, doc=replace(row.doc, published_at=row.doc.published_at + offset))
        for row in moved
        if row.doc.published_at is not None
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=MULTILINGUAL)
    parser.add_argument("--dev", type=Path, default=SAME_STORY / "allsides_val.jsonl")
    parser.add_argument("--no-dev", action="store_true", help="the multilingual set only")
    parser.add_argument(
        "--no-dev-views", action="store_true", help="skip the English-only dev views"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--sweep", action="store_true", help="also try a grid of thresholds and margins"
    )
    args = parser.parse_args(argv)
    settings = ClusterSettings(**parse_overrides(args.overrides))  # type: ignore[arg-type]
    embedder = TimedEmbedder(E5Embedder())
    rows = read_labelled(args.path)
    languages = sorted({row.doc.language or "?" for row in rows})
    print(
        f"{args.path.name}: {len(rows)} articles, {len({r.label for r in rows})} events, "
        f"languages {', '.join(languages)}; link_threshold {settings.link_threshold}, "
        f"link_margin {settings.link_margin}"
    )
    views = {"multilingual": rows, "multilingual shuffled": shuffled(rows)}
    if not args.no_dev:
        dev = read_labelled(args.dev)
        views[MIXED] = shuffled(rows + in_week(dev))
        if not args.no_dev_views:
            scrambled = scrambled_sources(dev)
            views |= {
                "dev as given": dev,
                "dev scrambled": scrambled,
                "dev shuffled": shuffled(scrambled),
                "dev varied sizes": with_varied_sizes(scrambled),
            }
    totals = {"articles": 0, "stories": 0, "embeddings": 0, "cluster_seconds": 0.0}
    multilingual_ids = {row.doc.id for row in rows}
    for name, view in views.items():
        outcome = run(view, settings, embedder)
        print(report(name, view, outcome), flush=True)
        if name == MIXED:
            print(part_report(view, outcome, multilingual_ids))
        totals["articles"] += len(view)
        totals["stories"] += outcome.stories
        totals["embeddings"] += outcome.embeddings
        totals["cluster_seconds"] += outcome.cluster_seconds
    if embedder.computed:
        # Seconds per embedding from the texts actually embedded; the views repeat texts.
        per_embedding = embedder.seconds / embedder.computed
        per_story = per_embedding * totals["embeddings"] / max(totals["stories"], 1)
        cluster_per_article = totals["cluster_seconds"] / max(totals["articles"], 1)
        link_per_article = per_embedding * totals["embeddings"] / max(totals["articles"], 1)
        print(
            f"cost: {per_embedding * 1000:.0f} ms per embedding, {per_story * 1000:.0f} ms per "
            f"story, {link_per_article * 1000:.1f} ms per article against the clusterer's "
            f"{cluster_per_article * 1000:.2f} ms per article (linker/clusterer time "
            f"{link_per_article / cluster_per_article:.0f}x; the linker keeps up with "
            f"{1 / link_per_article:.1f} articles/s on one thread)"
        )
    if args.sweep:
        sweep(views, settings, embedder, multilingual_ids)
    return 0


def sweep(
    views: dict[str, list[Labelled]],
    settings: ClusterSettings,
    embedder: TimedEmbedder,
    multilingual_ids: set[str],
) -> None:
    """B-cubed F1 with linking for a grid of thresholds and margins on the views with more
    than one language (vectors are cached)."""
    views = {name: view for name, view in views.items() if name.startswith("multilingual")}
    print(f"sweep over: {', '.join(views)}")
    for threshold in (0.85, 0.86, 0.87, 0.88, 0.89, 0.9):
        for margin in (0.0, 0.01, 0.02, 0.03):
            trial = settings.model_copy(update={"link_threshold": threshold, "link_margin": margin})
            scores = []
            for name, view in views.items():
                outcome = run(view, trial, embedder)
                scores.append(f"{f1(outcome.linked, view):.3f}")
                if name == MIXED:
                    scores.append(part_report(view, outcome, multilingual_ids))
            print(f"sweep threshold {threshold:.2f} margin {margin:.2f}: {' '.join(scores)}")


if __name__ == "__main__":
    sys.exit(main())

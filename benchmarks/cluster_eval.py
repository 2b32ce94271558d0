"""Quality of the story clusterer on labelled same-story data, next to a naive baseline.

Runs `StoryClusterer` over a labelled JSONL file in file order and reports B-cubed and pairwise
precision/recall/F1 and the number of clusters against the number of labels, for the clusterer
and for a naive online TF-IDF centroid clusterer with one cosine threshold. Then the same on
five harder views of the data: outlet names removed, outlets scrambled (each story's articles
from random distinct outlets, as in real news), with outlets scrambled the articles in a
shuffled order, with outlets scrambled follow-ups (in 30% of the stories the second article
comes from the outlet of the first), and with outlets scrambled stories of varied sizes (each
cut to a random 1, 2 or 3 of its articles). With `--dates DAYS` every story first gets a
random date within DAYS days (the file has none), its articles within 12 hours of it, so that
the views test time handling too: dates out of order in file order, and interleaved once
shuffled. With `--copies N` it also makes syndicated copies of N corpus pages and reports how
many are found as copies.

    python benchmarks/cluster_eval.py [PATH] [--set join_threshold=0.3 ...] [--dates 1095]
                                      [--chunk 921] [--copies 100]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_data import (
    CORPUS,
    SAME_STORY,
    Labelled,
    corpus_articles,
    dated,
    read_labelled,
    scrambled_sources,
    shuffled,
    syndicated_copy,
    with_follow_ups,
    with_varied_sizes,
    without_sources,
)
from newsflow.clustering import Merges, StoryClusterer
from newsflow.clustering.metrics import bcubed, pairwise
from newsflow.config import ClusterSettings

_WORD = re.compile(r"\w+")
_NAIVE_VIEWS = ("as given", "shuffled", "varied sizes")  # enough: the baseline ignores outlets


class NaiveClusterer:
    """The baseline: TF-IDF of title and text, online centroids, one cosine threshold, a full
    scan of all centroids per article."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.document_counts: Counter[str] = Counter()
        self.documents = 0
        self.centroids: list[dict[str, float]] = []

    def add(self, title: str, text: str) -> int:
        """The cluster number of the next article."""
        counts = Counter(_WORD.findall(f"{title} {text}".lower()))
        self.documents += 1
        self.document_counts.update(counts.keys())
        vector = {
            term: (1 + math.log(n))
            * (math.log((self.documents + 1) / (self.document_counts[term] + 1)) + 1)
            for term, n in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        vector = {term: w / norm for term, w in vector.items()}
        best, best_score = -1, self.threshold
        for number, centroid in enumerate(self.centroids):
            centroid_norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
            score = sum(w * centroid.get(t, 0.0) for t, w in vector.items()) / centroid_norm
            if score >= best_score:
                best, best_score = number, score
        if best < 0:
            self.centroids.append(dict(vector))
            return len(self.centroids) - 1
        centroid = self.centroids[best]
        for term, weight in vector.items():
            centroid[term] = centroid.get(term, 0.0) + weight
        return best


def report_line(name: str, predicted: Sequence[str], gold: Sequence[str], seconds: float) -> str:
    """One row of the report table."""
    b3, pw = bcubed(predicted, gold), pairwise(predicted, gold)
    return (
        f"{name:<12} B3 P {b3.precision:.3f} R {b3.recall:.3f} F1 {b3.f1:.3f} | "
        f"pairwise P {pw.precision:.3f} R {pw.recall:.3f} F1 {pw.f1:.3f} | "
        f"clusters {len(set(predicted))} / labels {len(set(gold))} | {seconds:.1f}s"
    )


def run_clusterer(rows: list[Labelled], settings: ClusterSettings) -> list[str]:
    """The story id of each row, in order."""
    clusterer = StoryClusterer(settings)
    merges = Merges()
    story_ids = []
    for row in rows:
        assignment = clusterer.add(row.doc)
        merges.record(assignment)
        story_ids.append(assignment.story_id)
    return [merges.final(story_id) for story_id in story_ids]


def run_naive(rows: list[Labelled], threshold: float) -> list[str]:
    """The baseline's cluster of each row, in order."""
    naive = NaiveClusterer(threshold)
    return [str(naive.add(row.doc.title, row.doc.text)) for row in rows]


def in_chunks(
    run: Callable[[list[Labelled]], list[str]], rows: list[Labelled], size: int
) -> list[str]:
    """`run` on each consecutive chunk of `size` rows as a separate stream (0: one stream);
    cluster names are made distinct across chunks."""
    if size <= 0:
        return run(rows)
    predicted: list[str] = []
    for start in range(0, len(rows), size):
        predicted += [f"{start}:{name}" for name in run(rows[start : start + size])]
    return predicted


def copy_detection(settings: ClusterSettings, pages: int) -> str:
    """Feed corpus articles, then a syndicated copy of each; report copies found and false
    links between the originals."""
    originals = corpus_articles(CORPUS, limit=pages)
    clusterer = StoryClusterer(settings)
    stories = [clusterer.add(doc).story_id for doc in originals]
    found = sum(clusterer.add(syndicated_copy(doc)).duplicate_of == doc.id for doc in originals)
    shared = len(originals) - len(set(stories))
    return (
        f"copies       {found}/{len(originals)} found as duplicate_of their original; "
        f"{shared} corpus articles joined another corpus article's story"
    )


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`name=value` pairs into a dict for `ClusterSettings`."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set wants name=value, got {pair!r}")
        overrides[name] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=SAME_STORY / "allsides_val.jsonl",
        help="labelled JSONL (default: ../shared/datasets/same-story/allsides_val.jsonl)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a ClusterSettings field (repeatable)",
    )
    parser.add_argument(
        "--naive-threshold", type=float, default=0.25, help="cosine threshold of the baseline"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--chunk",
        type=int,
        default=0,
        metavar="N",
        help="cluster each N consecutive articles as a separate stream (default: one stream)",
    )
    parser.add_argument(
        "--dates",
        type=float,
        default=0,
        metavar="DAYS",
        help="date each story at random within DAYS days first (default: keep the file's dates)",
    )
    parser.add_argument(
        "--copies",
        type=int,
        default=0,
        metavar="N",
        help="also test copy detection on syndicated copies of N corpus articles",
    )
    args = parser.parse_args(argv)
    settings = ClusterSettings(**parse_overrides(args.overrides))  # type: ignore[arg-type]
    rows = read_labelled(args.path)
    if args.dates > 0:
        rows = dated(rows, args.dates)
    chunking = f", in streams of {args.chunk}" if args.chunk > 0 else ""
    if args.dates > 0:
        chunking += f", stories dated within {args.dates:g} days"
    labels = len({row.label for row in rows})
    print(f"{args.path.name}: {len(rows)} articles, {labels} labels{chunking}")
    scrambled = scrambled_sources(rows)
    views = {
        "as given": rows,
        "no outlets": without_sources(rows),
        "scrambled": scrambled,
        "shuffled": shuffled(scrambled, block=args.chunk),
        "follow-ups": with_follow_ups(scrambled),
        "varied sizes": with_varied_sizes(scrambled),
    }
    for view, view_rows in views.items():
        print(f"-- {view}")
        gold = [row.label for row in view_rows]
        started = time.perf_counter()
        predicted = in_chunks(lambda part: run_clusterer(part, settings), view_rows, args.chunk)
        print(report_line("clusterer", predicted, gold, time.perf_counter() - started))
        if not args.no_naive and view in _NAIVE_VIEWS:
            started = time.perf_counter()
            baseline = in_chunks(
                lambda part: run_naive(part, args.naive_threshold), view_rows, args.chunk
            )
            print(report_line("naive", baseline, gold, time.perf_counter() - started))
    if args.copies:
        print(copy_detection(settings, args.copies))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what the extraction budget saves on one huge page.

A synthetic article page of `--megabytes` MB (distinct paragraphs, so trafilatura's
duplicate filter keeps them) is extracted twice in this process: with the default budget
(`[fetch] extract_max_bytes` / `extract_max_tags`, the page is cut first) and without one.
Extractions take turns behind one lock, so the time of one huge page is the time every other
page of a run waits. Reports both times, their ratio and the peak memory after each.

    python benchmarks/extract_budget.py [--megabytes 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root

from newsflow.config import FetchSettings
from newsflow.extract import ExtractBudget, PageInput, extract_article
from newsflow.sources import SourceItem

URL = "https://example.com/huge"


def huge_page(megabytes: float) -> bytes:
    """An article page of about `megabytes` MB of distinct paragraphs."""
    head = b"<html><head><title>Huge</title></head><body><article><h1>Huge page</h1>"
    paragraphs: list[bytes] = []
    size, n = len(head), 0
    while size < megabytes * 1e6:
        paragraph = (
            b"<p>Paragraph %d: the council agreed to rebuild bridge %d after the flood of %d.</p>"
            % (
                n,
                n * 7,
                1900 + n % 120,
            )
        )
        paragraphs.append(paragraph)
        size, n = size + len(paragraph), n + 1
    return head + b"".join(paragraphs) + b"</article></body></html>"


def timed_extraction(
    page: PageInput, budget: ExtractBudget | None
) -> tuple[float, dict[str, object]]:
    """Extract `page` once: its seconds, and a record with the outcome and peak memory."""
    started = time.perf_counter()
    outcome = extract_article(page, SourceItem(url=URL), budget)
    seconds = time.perf_counter() - started
    text = getattr(outcome, "text", "")
    return seconds, {
        "seconds": round(seconds, 2),
        "text_chars": len(text),
        "outcome": "article" if text else str(outcome),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=10.0, help="size of the page")
    args = parser.parse_args()
    content = huge_page(args.megabytes)
    page = PageInput(content, URL, datetime.now(UTC), "utf-8")
    cut_s, budgeted = timed_extraction(page, ExtractBudget.from_settings(FetchSettings()))
    whole_s, unbounded = timed_extraction(page, None)  # second: the peak memory is its own
    report = {
        "page_bytes": len(content),
        "with_budget": budgeted,
        "without_budget": unbounded,
        "time_ratio": round(cut_s / whole_s, 4),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The soak's accounting and its report: reconciliation, freshness, report.json/.md/.png.

Everything here is pure except `write_report` (files) and `draw` (matplotlib): the harness
(`benchmarks/soak.py`) collects what happened, these functions decide what it means.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Skips after which the item will be offered again (see newsflow.outcomes.Skip.transient):
# an item whose last word is one of these was not given up on, it is stuck.
TRANSIENT_REASONS = frozenset({"timeout", "connect-error", "rate-limited", "http-status-5xx"})
NOT_ITEM_SKIPS = frozenset({"not-due", "not-modified", "unchanged", "seen-before"})


@dataclass(frozen=True)
class Published:
    """An item the newsroom put in a feed, and when it first appeared there (epoch s)."""

    url: str
    feed: str
    appeared_at: float
    expect: str | None = None  # the skip reason the newsroom meant it to cause


@dataclass(frozen=True)
class StoredArticle:
    """A document in the search store: the article's id, its item URL and its story."""

    id: str
    url: str
    story_id: str | None


@dataclass(frozen=True)
class SkipRecord:
    """A skip the run reported: for one item (`url`) or `count` items of a feed."""

    reason: str
    url: str | None = None
    feed: str | None = None
    count: int = 1


@dataclass
class Reconciliation:
    """Where every published item ended up."""

    published: int = 0
    stored: int = 0
    duplicates: int = 0
    not_in_one_story: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unexpected_skips: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # last skip transient: retried, never stored


def skip_reason(reason: str, detail: str = "") -> str:
    """A skip's reason as reported, with 5xx/429 statuses told apart from final ones."""
    if reason == "http-status" and re.match(r"HTTP (429|5\d\d)\b", detail):
        return "http-status-5xx"
    return reason


def reconcile(
    published: Sequence[Published],
    stored: Sequence[StoredArticle],
    skips: Iterable[SkipRecord],
    stories: set[str] | None = None,
) -> Reconciliation:
    """Match every published item to stored documents or to a reported skip.

    An item is stored when a document carries its URL; more than one such document is a
    duplicate, and a document whose story is not among `stories` (the stored story ids) is
    not in exactly one story. An unstored item is skipped when a skip names its URL, or, for skips the run
    only counted per feed, when its feed still has an unused skip; the reason it was
    skipped for is the last one reported. Items with a transient last skip are `stuck`, the
    others `lost`.
    """
    result = Reconciliation(published=len(published))
    by_url: dict[str, list[StoredArticle]] = {}
    for article in stored:
        by_url.setdefault(article.url, []).append(article)
    per_url: dict[str, str] = {}
    per_feed: dict[str, list[str]] = {}
    for skip in skips:
        if skip.reason in NOT_ITEM_SKIPS:
            continue
        if skip.url is not None:
            per_url[skip.url] = skip.reason
        elif skip.feed is not None:
            per_feed.setdefault(skip.feed, []).extend([skip.reason] * skip.count)
    unstored = []
    for item in published:
        docs = by_url.get(item.url, [])
        if not docs:
            unstored.append(item)
            continue
        result.stored += 1
        result.duplicates += len(docs) - 1
        if stories is not None and any(d.story_id not in stories for d in docs):
            result.not_in_one_story += 1
    reasons = {item.url: per_url[item.url] for item in unstored if item.url in per_url}
    # Feed-counted skips go first to the items broken in just that way, then to the others.
    for item in unstored:
        counted = per_feed.get(item.feed, [])
        if item.url not in reasons and item.expect in counted:
            counted.remove(item.expect)
            reasons[item.url] = item.expect
    for item in unstored:
        counted = per_feed.get(item.feed, [])
        if item.url not in reasons and counted:
            final = [r for r in counted if r not in TRANSIENT_REASONS]
            reasons[item.url] = (final or counted)[0]
            counted.remove(reasons[item.url])
    for item in unstored:
        reason = reasons.get(item.url)
        if reason is None:
            result.lost.append(item.url)
        elif reason in TRANSIENT_REASONS:
            result.stuck.append(item.url)
        else:
            result.skipped[reason] += 1
            if reason != item.expect:
                result.unexpected_skips[reason] += 1
    return result


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and max (nearest-rank), or None each for no values."""
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 2)

    return {"p50": rank(0.5), "p95": rank(0.95), "max": round(ordered[-1], 2), "n": len(ordered)}


def during(at_s: float, faults: Sequence[dict[str, Any]], slack_s: float = 0.0) -> bool:
    """Whether `at_s` falls in a fault window (extended by `slack_s` after its end)."""
    return any(f["at_s"] <= at_s < f["at_s"] + f["duration_s"] + slack_s for f in faults)


def freshness(
    appeared: dict[str, float],
    searchable: dict[str, float],
    faults: Sequence[dict[str, Any]],
    start: float,
    slack_s: float,
    outlets: dict[str, int] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Seconds from first appearance in a feed to searchable, overall and split by whether
    the item appeared during a fault (or within `slack_s` after one ended). A fault with an
    `outlet` touches only that outlet's items (`outlets`: item URL -> outlet)."""
    overall: list[float] = []
    in_fault: list[float] = []
    outside: list[float] = []
    for url, seen in searchable.items():
        if url not in appeared:
            continue
        delay = max(0.0, seen - appeared[url])
        overall.append(delay)
        outlet = (outlets or {}).get(url)
        relevant = [f for f in faults if f.get("outlet") is None or f.get("outlet") == outlet]
        (in_fault if during(appeared[url] - start, relevant, slack_s) else outside).append(delay)
    return {
        "overall": percentiles(overall),
        "during_faults": percentiles(in_fault),
        "outside_faults": percentiles(outside),
    }


def build_report(
    rec: Reconciliation,
    *,
    transport: str,
    feeds: int,
    minutes: float,
    poll_interval_s: float,
    fresh: dict[str, dict[str, float | None]],
    faults: list[dict[str, Any]],
    duration_s: float,
    services: dict[str, dict[str, float]],
    dead_letters: int | None,
    timeline: list[dict[str, float]],
) -> dict[str, Any]:
    """The report.json document."""
    per_article = max(1, rec.stored)
    return {
        "transport": transport,
        "feeds": feeds,
        "minutes": minutes,
        "poll_interval_s": poll_interval_s,
        "published": rec.published,
        "stored": rec.stored,
        "lost": len(rec.lost),
        "stuck": len(rec.stuck),
        "duplicates": rec.duplicates,
        "not_in_one_story": rec.not_in_one_story,
        "skipped": dict(sorted(rec.skipped.items())),
        "unexpected_skips": dict(sorted(rec.unexpected_skips.items())),
        "dead_letters": dead_letters,
        "lost_examples": rec.lost[:10],
        "stuck_examples": rec.stuck[:10],
        "faults": faults,
        "freshness_s": fresh["overall"],
        "freshness_by_fault_s": {k: v for k, v in fresh.items() if k != "overall"},
        "duration_s": round(duration_s, 1),
        "throughput_per_s": round(rec.stored / duration_s, 3) if duration_s else 0.0,
        "articles_per_hour": round(3600 * rec.stored / duration_s) if duration_s else 0,
        "services": {
            name: {**usage, "cpu_s_per_article": round(usage["cpu_s"] / per_article, 4)}
            for name, usage in services.items()
        },
        "timeline": timeline,
    }


def markdown(report: dict[str, Any]) -> str:
    """report.md: the headline table, the services' cost and the faults."""
    f = report["freshness_s"]
    by = report["freshness_by_fault_s"]
    skipped = ", ".join(f"{n} {r}" for r, n in report["skipped"].items()) or "none"
    rows = [
        ("transport", report["transport"]),
        (
            "feeds / minutes / poll interval",
            f"{report['feeds']} / {report['minutes']} / {report['poll_interval_s']} s",
        ),
        ("published", report["published"]),
        ("stored", report["stored"]),
        (
            "lost / stuck / duplicates",
            f"{report['lost']} / {report['stuck']} / {report['duplicates']}",
        ),
        ("not in exactly one story", report["not_in_one_story"]),
        ("skipped", skipped),
        ("dead letters", "n/a" if report["dead_letters"] is None else report["dead_letters"]),
        ("freshness p50 / p95 / max", f"{f['p50']} / {f['p95']} / {f['max']} s"),
        (
            "  outside faults p50 / p95",
            f"{by['outside_faults']['p50']} / {by['outside_faults']['p95']} s",
        ),
        (
            "  during faults p50 / p95",
            f"{by['during_faults']['p50']} / {by['during_faults']['p95']} s",
        ),
        (
            "throughput",
            f"{report['throughput_per_s']} articles/s ({report['articles_per_hour']}/h)",
        ),
    ]
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    lines += [
        "",
        "| service | CPU s | CPU s / article | peak RSS MiB | restarts |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, usage in report["services"].items():
        lines.append(
            f"| {name} | {usage['cpu_s']:.1f} | {usage['cpu_s_per_article']} | "
            f"{usage['peak_rss_mib']:.0f} | {int(usage.get('restarts', 0))} |"
        )
    kinds = Counter(fault["kind"] for fault in report["faults"])
    lines += ["", "| fault | count | first at s | duration s |", "| --- | --- | --- | --- |"]
    for kind in sorted(kinds):
        first = min((x for x in report["faults"] if x["kind"] == kind), key=lambda x: x["at_s"])
        lines.append(f"| {kind} | {kinds[kind]} | {first['at_s']} | {first['duration_s']} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path) -> None:
    """report.json, report.md and report.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    draw(report, report.get("freshness_samples_s", []), out / "report.png")


def draw(report: dict[str, Any], delays: Sequence[float], path: Path) -> None:
    """Stored articles and consumer lag over time with the faults shaded; freshness histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), height_ratios=[3, 2])
    times = [point["t_s"] for point in report["timeline"]]
    top.plot(times, [p["published"] for p in report["timeline"]], color="grey", label="published")
    top.plot(times, [p["stored"] for p in report["timeline"]], color="tab:blue", label="stored")
    top.set_xlabel("seconds into the run")
    top.set_ylabel("articles")
    colours = {"kill": "tab:red", "pause": "tab:orange", "outlet": "tab:green"}
    labelled: set[str] = set()
    for fault in report["faults"]:
        family = next((k for k in colours if fault["kind"].startswith(k)), "outlet")
        label = None if family in labelled else f"fault: {family}"
        labelled.add(family)
        # Service faults shade the whole height; each outlet's misbehaviour is a thin band.
        height = 0.04 if family == "outlet" else 1.0
        top.axvspan(
            fault["at_s"],
            fault["at_s"] + max(fault["duration_s"], 2),
            ymax=height,
            color=colours[family],
            alpha=0.15 if family == "outlet" else 0.25,
            label=label,
        )
    if any("lag" in p for p in report["timeline"]):
        lag = top.twinx()
        lag.plot(
            times,
            [p.get("lag", 0) for p in report["timeline"]],
            color="tab:purple",
            linestyle="--",
            label="consumer lag",
        )
        lag.set_ylabel("consumer lag (messages)")
        lag.legend(loc="lower right")
    top.legend(loc="upper left")
    f = report["freshness_s"]
    top.set_title(
        f"{report['transport']}: {report['stored']}/{report['published']} stored, "
        f"lost {report['lost']}, duplicates {report['duplicates']}, "
        f"freshness p50 {f['p50']} s, p95 {f['p95']} s"
    )
    bottom.hist(delays, bins=40, color="tab:blue")
    for name, value in (("p50", f["p50"]), ("p95", f["p95"])):
        if value is not None:
            bottom.axvline(value, color="black", linestyle=":")
            bottom.annotate(name, (value, 0), xytext=(3, 10), textcoords="offset points")
    bottom.axvline(
        report["poll_interval_s"] + 10,
        color="tab:red",
        linestyle="--",
        label="poll interval + 10 s",
    )
    bottom.set_xlabel("seconds from first appearance in a feed to searchable")
    bottom.set_ylabel("articles")
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    """`python benchmarks/soak_report.py DIR`: redraw report.md and report.png from report.json."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path, help="a soak's --out folder (with its report.json)")
    out = parser.parse_args().out
    write_report(json.loads((out / "report.json").read_text(encoding="utf-8")), out)


if __name__ == "__main__":
    main()

"""What one poll did, per feed and per story, and how the Prefect artifacts show it (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from newsflow.outcomes import RunReport, Skip
from schemas import Article, Story


class FeedStatus(StrEnum):
    """How a feed fared in one poll."""

    NEW = "new"  # at least one new article came out of it
    UNCHANGED = "unchanged"  # read, but no new article came out of it
    FAILED = "failed"  # could not be read or parsed, retries included


@dataclass
class FeedOutcome:
    """One feed's line in the poll table."""

    url: str
    name: str | None = None
    listed: int = 0
    articles: int = 0
    seen_before: int = 0
    error: Skip | None = None
    item_skips: list[Skip] = field(default_factory=list)

    @property
    def status(self) -> FeedStatus:
        if self.error is not None:
            return FeedStatus.FAILED
        return FeedStatus.NEW if self.articles else FeedStatus.UNCHANGED

    @property
    def reason(self) -> str:
        """Why the feed failed or what its items were skipped for, as short text."""
        if self.error is not None:
            return f"{self.error.reason}" + (f": {self.error.detail}" if self.error.detail else "")
        counts = Counter(str(skip.reason) for skip in self.item_skips)
        return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


@dataclass
class PollResult:
    """Everything a poll produced: per-feed outcomes, the stored articles, their stories."""

    feeds: list[FeedOutcome]
    published: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    handled: dict[str, int] = field(default_factory=dict)  # by in-process stage (embedded)

    def run_report(self) -> RunReport:
        """The poll as the pipeline's `RunReport`: articles in, every skip with its reason."""
        report = RunReport(articles=len(self.published))
        for feed in self.feeds:
            for skip in ([feed.error] if feed.error else []) + feed.item_skips:
                report.skipped(skip)
        return report


def feed_table(feeds: Sequence[FeedOutcome]) -> list[dict[str, str | int]]:
    """Rows of the table artifact: one per feed polled."""
    return [
        {
            "feed": feed.name or feed.url,
            "url": feed.url,
            "status": str(feed.status),
            "listed": feed.listed,
            "new articles": feed.articles,
            "seen before": feed.seen_before,
            "reason": feed.reason,
        }
        for feed in feeds
    ]


def stories_markdown(title: str, result: PollResult) -> str:
    """The markdown artifact: new and growing stories, and what is not clustered yet."""
    in_run = Counter(article.story_id for article in result.articles if article.story_id)
    new = [s for s in result.stories if s.article_count <= in_run[s.id]]
    growing = [s for s in result.stories if s.article_count > in_run[s.id]]
    lines = [f"# {title}", ""]
    counts = Counter(str(feed.status) for feed in result.feeds)
    lines.append(
        f"{len(result.feeds)} feed(s) polled: "
        + ", ".join(f"{counts[str(s)]} {s}" for s in FeedStatus)
        + f"; {len(result.published)} new article(s)."
    )
    for heading, stories in (("New stories", new), ("Growing stories", growing)):
        lines += ["", f"## {heading} ({len(stories)})", ""]
        lines += [_story_line(story, in_run[story.id]) for story in stories] or ["None."]
    pending = len(result.published) - sum(in_run.values())
    if pending:
        lines += [
            "",
            f"{pending} new article(s) were not clustered and indexed yet when the run ended "
            "(the cluster and indexer services pick them up from Kafka).",
        ]
    return "\n".join(lines) + "\n"


def _story_line(story: Story, added: int) -> str:
    headline = story.headline.replace("|", "\\|").replace("\n", " ") or "(no headline)"
    sources = ", ".join(story.sources)
    return (
        f"- **{headline}**: +{added} article(s), {story.article_count} in all "
        f"from {len(story.sources)} source(s) ({sources}); `{story.id}`"
    )

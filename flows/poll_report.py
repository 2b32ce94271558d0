"""How the Prefect artifacts show a poll: a table of its feeds, a summary of its stories (pure)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from newsflow.outcomes import FeedOutcome, FeedStatus, PollResult
from schemas import Story


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
    lines = [f"# {markdown_text(title)}", ""]
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


# Every ASCII punctuation character may be backslash-escaped in CommonMark, `<` and `&` too.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_text(value: str) -> str:
    """A stranger's string as literal markdown text: one line, every punctuation character
    escaped, so a headline cannot add links, images, HTML or formatting."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(value.split()))


def _story_line(story: Story, added: int) -> str:
    headline = markdown_text(story.headline) or "(no headline)"
    sources = markdown_text(", ".join(story.sources))
    return (
        f"- **{headline}**: +{added} article(s), {story.article_count} in all "
        f"from {len(story.sources)} source(s) ({sources}); `{story.id}`"
    )

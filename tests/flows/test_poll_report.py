"""The poll report: feed statuses, the feed table, new versus growing stories."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from markdown_it import MarkdownIt

from flows.poll_report import feed_table, stories_markdown
from newsflow.outcomes import FeedOutcome, FeedStatus, PollResult, Skip, SkipReason
from schemas import Article, Story

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def article(number: int, story_id: str) -> Article:
    return Article(
        id=f"{number:024x}",
        url=f"https://example.com/{number}",
        canonical_url=f"https://example.com/{number}",
        source="Example",
        text="Some text.",
        fetched_at=WHEN,
        content_hash=f"{number:016x}",
        story_id=story_id,
    )


def story(story_id: str, count: int, headline: str) -> Story:
    return Story(
        id=story_id,
        headline=headline,
        first_seen=WHEN,
        last_seen=WHEN,
        article_count=count,
        sources=["Example"],
    )


def test_feed_status_and_reason() -> None:
    assert FeedOutcome(url="u", articles=2).status is FeedStatus.NEW
    quiet = FeedOutcome(url="u", seen_before=3, item_skips=[Skip("a", SkipReason.NO_CONTENT)])
    assert quiet.status is FeedStatus.UNCHANGED
    assert quiet.reason == "1 no-content"
    broken = FeedOutcome(url="u", error=Skip("u", SkipReason.HTTP_STATUS, "HTTP 503"))
    assert broken.status is FeedStatus.FAILED
    assert broken.reason == "http-status: HTTP 503"
    [row] = feed_table([broken])
    assert row["feed"] == "u" and row["status"] == "failed"


def test_feed_not_read_is_not_due_or_unchanged_never_failed() -> None:
    not_due = FeedOutcome(url="u", not_read=Skip("u", SkipReason.NOT_DUE, "polled recently"))
    assert not_due.status is FeedStatus.NOT_DUE
    assert not_due.reason == "not-due: polled recently"
    not_modified = FeedOutcome(url="u", not_read=Skip("u", SkipReason.NOT_MODIFIED))
    assert not_modified.status is FeedStatus.UNCHANGED
    assert not_modified.reason == "not-modified"
    report = PollResult(feeds=[not_due, not_modified]).run_report()
    assert report.reasons() == {"not-due": 1, "not-modified": 1}


def test_story_is_new_when_all_its_articles_came_in_this_run() -> None:
    fresh, older = "a" * 24, "b" * 24
    result = PollResult(
        feeds=[FeedOutcome(url="u", articles=3)],
        published=["1", "2", "3"],
        articles=[article(1, fresh), article(2, fresh), article(3, older)],
        stories=[story(fresh, 2, "Fresh | news"), story(older, 5, "Older news")],
    )
    text = stories_markdown("t", result)
    new_part, growing_part = text.split("## Growing stories")
    assert "## New stories (1)" in new_part and "Fresh \\| news" in new_part
    assert "+2 article(s), 2 in all" in new_part
    assert growing_part.startswith(" (1)") and "+1 article(s), 5 in all" in growing_part
    assert "not clustered" not in text


def test_articles_not_yet_clustered_are_counted() -> None:
    result = PollResult(feeds=[], published=["1", "2"], articles=[])
    text = stories_markdown("t", result)
    assert "## New stories (0)" in text and "None." in text
    assert "2 new article(s) were not clustered and indexed yet" in text


def test_run_report_keeps_every_skip() -> None:
    result = PollResult(
        feeds=[
            FeedOutcome(url="a", error=Skip("a", SkipReason.TIMEOUT)),
            FeedOutcome(url="b", item_skips=[Skip("b1", SkipReason.NO_CONTENT)]),
        ],
        published=["x"],
    )
    report = result.run_report()
    assert report.articles == 1
    assert report.reasons() == {"timeout": 1, "no-content": 1}


HOSTILE = "**[x](javascript:alert(1))** <img src=x onerror=alert(1)> &amp; # _e_ \\ `c` | [y]: /z"


def test_a_hostile_headline_or_outlet_is_literal_text_in_the_markdown_artifact() -> None:
    sid = "c" * 24
    hostile = story(sid, 1, HOSTILE + "\n## injected heading").model_copy(
        update={"sources": ["<b>Outlet</b> [link](https://evil.example)"]}
    )
    result = PollResult(
        feeds=[FeedOutcome(url="u", articles=1)],
        published=["1"],
        articles=[article(1, sid)],
        stories=[hostile],
    )
    rendered = MarkdownIt("commonmark").render(stories_markdown("poll [t](u)", result))
    assert "<a" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "<em>" not in rendered and rendered.count("<code>") == 1  # our story id only
    assert rendered.count("<h2>") == 2  # our two sections; the headline's newline is a space
    assert rendered.count("<strong>") == 1  # our bold around the headline, nothing inside it
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert HOSTILE + " ## injected heading" in text
    assert "<b>Outlet</b> [link](https://evil.example)" in text and "poll [t](u)" in text

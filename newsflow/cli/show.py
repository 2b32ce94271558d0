"""How stories and search results look on the terminal and as JSON lines."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text

from newsflow.cli import output
from newsflow.records import result_record, story_record
from newsflow.store import SearchStore, StoryResult
from schemas import Story

_EM = re.compile(r"<em>(.*?)</em>", re.S)


def print_stories(store: SearchStore, stories: Sequence[Story], *, as_json: bool) -> None:
    """Each story with its member articles: JSON lines, or a table per story."""
    for story in stories:
        members = store.story_articles(story.id)
        if as_json:
            output.json_line(story_record(story, members))
            continue
        table = output.table(
            "published",
            "source",
            "title",
            "url",
            title=output.label(story.headline, "bold"),
            caption=(
                f"story {story.id} · {story.article_count} article(s) · "
                f"{', '.join(story.sources)} · {story.first_seen:%Y-%m-%d %H:%M} → "
                f"{story.last_seen:%Y-%m-%d %H:%M} UTC"
            ),
        )
        for column in table.columns:
            column.overflow = "fold"
        for article in members:
            copy = " (copy)" if article.duplicate_of else ""
            output.row(
                table,
                f"{article.event_time:%Y-%m-%d %H:%M}",
                article.source,
                article.title + copy,
                article.url,
            )
        output.show(table)


def print_results(results: Sequence[StoryResult], *, as_json: bool) -> None:
    """Search results grouped by story: JSON lines, or one block per story."""
    for result in results:
        if as_json:
            output.json_line(result_record(result))
            continue
        headline = result.story.headline if result.story else result.hits[0].article.title
        output.say(
            output.label(headline, "bold"),
            "  ",
            output.label(f"story {result.story_id} · {len(result.hits)} hit(s)", "dim"),
        )
        for hit in result.hits:
            output.say(
                f"  • {hit.article.title} — {hit.article.source}  ",
                output.label(hit.article.url, "dim"),
            )
            for fragment in hit.highlights:
                output.say("    ", highlighted(fragment))
        output.say()


def highlighted(fragment: str) -> Text:
    """A search highlight: the `<em>` parts the store marked in bold yellow, the rest verbatim."""
    text = Text()
    position = 0
    for match in _EM.finditer(fragment):
        text.append_text(output.plain(fragment[position : match.start()]))
        text.append_text(output.label(match.group(1), "bold yellow"))
        position = match.end()
    text.append_text(output.plain(fragment[position:]))
    return text

"""How stories and search results look on the terminal and as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.table import Table

from newsflow.cli.app import out
from newsflow.records import result_record, story_record
from newsflow.store import SearchStore, StoryResult
from schemas import Story


def print_stories(store: SearchStore, stories: Sequence[Story], *, as_json: bool) -> None:
    """Each story with its member articles: JSON lines, or a table per story."""
    for story in stories:
        members = store.story_articles(story.id)
        if as_json:
            record = story_record(story, members)
            out.print(json.dumps(record, ensure_ascii=False), highlight=False, soft_wrap=True)
            continue
        table = Table(
            title=f"[bold]{story.headline}[/]",
            caption=(
                f"story {story.id} · {story.article_count} article(s) · "
                f"{', '.join(story.sources)} · {story.first_seen:%Y-%m-%d %H:%M} → "
                f"{story.last_seen:%Y-%m-%d %H:%M} UTC"
            ),
            title_justify="left",
            caption_justify="left",
        )
        for column in ("published", "source", "title", "url"):
            table.add_column(column, overflow="fold")
        for article in members:
            published = f"{article.event_time:%Y-%m-%d %H:%M}"
            copy = " (copy)" if article.duplicate_of else ""
            table.add_row(published, article.source, article.title + copy, article.url)
        out.print(table)


def print_results(results: Sequence[StoryResult], *, as_json: bool) -> None:
    """Search results grouped by story: JSON lines, or one block per story."""
    for result in results:
        if as_json:
            record = result_record(result)
            out.print(json.dumps(record, ensure_ascii=False), highlight=False, soft_wrap=True)
            continue
        headline = result.story.headline if result.story else result.hits[0].article.title
        out.print(
            f"[bold]{headline}[/]  [dim]story {result.story_id} · {len(result.hits)} hit(s)[/]"
        )
        for hit in result.hits:
            out.print(f"  • {hit.article.title} — {hit.article.source}  [dim]{hit.article.url}[/]")
            for fragment in hit.highlights:
                out.print(
                    "    " + fragment.replace("<em>", "[bold yellow]").replace("</em>", "[/]")
                )
        out.print()

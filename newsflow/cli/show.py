"""How stories and search results look on the terminal and as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from newsflow.cli.app import out
from newsflow.store import SearchStore, StoryResult
from schemas import Article, Story


def article_summary(article: Article) -> dict[str, Any]:
    """The fields of an article worth listing under its story."""
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "duplicate_of": article.duplicate_of,
    }


def print_stories(store: SearchStore, stories: Sequence[Story], *, as_json: bool) -> None:
    """Each story with its member articles: JSON lines, or a table per story."""
    for story in stories:
        members = store.story_articles(story.id)
        if as_json:
            record = json.loads(story.model_dump_json())
            record["articles"] = [article_summary(a) for a in members]
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
            record = {
                "story_id": result.story_id,
                "story": json.loads(result.story.model_dump_json()) if result.story else None,
                "hits": [
                    {**article_summary(h.article), "score": h.score, "highlights": h.highlights}
                    for h in result.hits
                ],
            }
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

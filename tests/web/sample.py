"""A small newsroom for the web tests: a story with two outlets, a copy and a merged-in story,
a story whose every string is hostile, and an older story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsflow.store import SearchStore
from newsflow.text import content_hash
from schemas import Article
from tests.search.test_store import make_story

T0 = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)
QWQ_STORY = "aaaa00000000000000000001"
MERGED_STORY = "aaaa00000000000000000002"
HOSTILE_STORY = "bad000000000000000000003"
RAIL_STORY = "cccc00000000000000000004"
# Every way a stranger's string could try to become markup or script on the page.
HOSTILE_TITLE = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.title='pwned'\"> Rail <b>strike</b> & co"
)
HOSTILE_URL = "javascript:document.title='pwned'"
HOSTILE_OUTLET = "Evil <i>Outlet</i>"


def article(
    number: int,
    title: str,
    text: str,
    *,
    story: str,
    source: str = "Example Wire",
    hours: float = 0,
    language: str = "en",
    url: str | None = None,
    duplicate_of: str | None = None,
) -> Article:
    when = T0 + timedelta(hours=hours)
    return Article(
        id=f"{number:024x}",
        url=url or f"https://news.example.com/{number}",
        canonical_url=f"https://news.example.com/{number}",
        source=source,
        title=title,
        text=text,
        lead=text.split("\n")[0],
        published_at=when,
        fetched_at=when + timedelta(minutes=5),
        language=language,
        content_hash=content_hash(text),
        story_id=story,
        duplicate_of=duplicate_of,
    )


QWQ_FIRST = article(
    1,
    "Alibaba unveils QwQ-32B reasoning model",
    "Alibaba released QwQ-32B, a reasoning model with 32 billion parameters.\nMore text.",
    story=QWQ_STORY,
)
QWQ_SECOND = article(
    2,
    "QwQ-32B: Alibaba fordert DeepSeek heraus",
    "Das Modell QwQ-32B von Alibaba tritt gegen DeepSeek an.",
    story=QWQ_STORY,
    source="Example Daily",
    hours=2,
    language="de",
)
QWQ_COPY = article(
    3,
    "Alibaba unveils QwQ-32B reasoning model",
    "Alibaba released QwQ-32B, a reasoning model with 32 billion parameters.\nMore text.",
    story=QWQ_STORY,
    source="Copy Wire",
    hours=3,
    duplicate_of=QWQ_FIRST.id,
)
QWQ_MERGED = article(
    4,
    "Alibaba shares jump after QwQ-32B launch",
    "Alibaba shares rose after the QwQ-32B announcement.",
    story=MERGED_STORY,
    hours=1,
)
HOSTILE = article(
    5,
    HOSTILE_TITLE,
    "Rail strike <script>document.title='pwned'</script> continues & <b>spreads</b>.",
    story=HOSTILE_STORY,
    source=HOSTILE_OUTLET,
    hours=5,
    url=HOSTILE_URL,
)
RAIL = article(
    6,
    "Rail strike ends",
    "Train drivers return to work after a deal.",
    story=RAIL_STORY,
    source="Example Daily",
    hours=-24,
)
ARTICLES = [QWQ_FIRST, QWQ_SECOND, QWQ_COPY, QWQ_MERGED, HOSTILE, RAIL]


QWQ = make_story(
    QWQ_STORY, [QWQ_FIRST, QWQ_MERGED, QWQ_SECOND, QWQ_COPY], merged_from=[MERGED_STORY]
)
MERGED = make_story(MERGED_STORY, [QWQ_MERGED], merged_into=QWQ_STORY)
HOSTILE_STORY_RECORD = make_story(HOSTILE_STORY, [HOSTILE])
RAIL_STORY_RECORD = make_story(RAIL_STORY, [RAIL])
STORIES = [QWQ, MERGED, HOSTILE_STORY_RECORD, RAIL_STORY_RECORD]


def load(store: SearchStore) -> None:
    """Write the sample into `store` the way the index stage does: articles, then stories."""
    assert not store.upsert_articles(ARTICLES).failures
    assert not store.upsert_stories(STORIES).failures

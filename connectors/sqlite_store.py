"""The embedded search store: SQLite with an FTS5 full-text index, in one file.

Articles and stories are stored as their JSON documents plus the columns queries filter on.
Every write is one transaction, so a crash never leaves half a batch behind, and every write
is an upsert by id, so redelivered records overwrite their earlier copy.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from newsflow.store import (
    ArticleHit,
    FacetCount,
    IndexReport,
    SearchFacets,
    SearchQuery,
    StoryResult,
)
from schemas import Article, Story

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    story_id TEXT,
    source TEXT NOT NULL,
    language TEXT,
    event_time TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_time ON articles(event_time);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, lead, text, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    last_seen TEXT NOT NULL,
    article_count INTEGER NOT NULL,
    merged_into TEXT,
    doc TEXT NOT NULL
);
"""
# Column weights for ranking: a match in the title counts most, then the lead.
_BM25 = "bm25(articles_fts, 5.0, 2.0, 1.0)"
_CANDIDATES_PER_STORY = 10


class SqliteStore:
    """A `newsflow.store.SearchStore` in `<data_dir>/newsflow.db`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    FILE_NAME = "newsflow.db"

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> SqliteStore:
        return cls(data_dir / cls.FILE_NAME)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def upsert_articles(self, articles: Sequence[Article]) -> IndexReport:
        with self._transaction() as db:
            for article in articles:
                (rowid,) = db.execute(
                    """INSERT INTO articles (id, story_id, source, language, event_time, doc)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT(id) DO UPDATE SET story_id = excluded.story_id,
                           source = excluded.source, language = excluded.language,
                           event_time = excluded.event_time, doc = excluded.doc
                       RETURNING rowid""",
                    (
                        article.id,
                        article.story_id,
                        article.source,
                        article.language,
                        article.event_time.isoformat(),
                        article.model_dump_json(),
                    ),
                ).fetchone()
                db.execute("DELETE FROM articles_fts WHERE rowid = ?", (rowid,))
                db.execute(
                    "INSERT INTO articles_fts (rowid, title, lead, text) VALUES (?, ?, ?, ?)",
                    (rowid, article.title, article.lead, article.text),
                )
        return IndexReport(written=len(articles))

    def upsert_stories(self, stories: Sequence[Story]) -> IndexReport:
        """Store the latest state of each story; a merged story hands its articles over."""
        with self._transaction() as db:
            for story in stories:
                db.execute(
                    """INSERT INTO stories (id, last_seen, article_count, merged_into, doc)
                       VALUES (?, ?, ?, ?, ?)
                       ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen,
                           article_count = excluded.article_count,
                           merged_into = excluded.merged_into, doc = excluded.doc""",
                    (
                        story.id,
                        story.last_seen.isoformat(),
                        story.article_count,
                        story.merged_into,
                        story.model_dump_json(),
                    ),
                )
                if story.merged_into:
                    db.execute(
                        """UPDATE articles SET story_id = ?1,
                               doc = json_set(doc, '$.story_id', ?1)
                           WHERE story_id = ?2""",
                        (story.merged_into, story.id),
                    )
        return IndexReport(written=len(stories))

    def search(self, query: SearchQuery) -> list[StoryResult]:
        matched = _matching(query)
        if matched is None:
            return []
        where, params = matched
        sql = f"""SELECT a.doc, {_BM25} AS rank,
                         snippet(articles_fts, -1, '<em>', '</em>', '…', 24)
                  {where} ORDER BY rank LIMIT ?"""
        with self._lock:
            rows = self._db.execute(sql, [*params, query.limit * _CANDIDATES_PER_STORY]).fetchall()
        grouped: dict[str | None, list[ArticleHit]] = {}
        for doc, rank, snippet in rows:
            article = Article.model_validate_json(doc)
            group_key = article.story_id or article.id
            grouped.setdefault(group_key, []).append(
                ArticleHit(article=article, score=-float(rank), highlights=[snippet])
            )
        results = []
        for hits in list(grouped.values())[: query.limit]:
            story_id = hits[0].article.story_id
            story = self.get_story(story_id) if story_id else None
            results.append(StoryResult(story_id=story_id, story=story, hits=hits))
        return results

    def search_facets(self, query: SearchQuery) -> SearchFacets:
        matched = _matching(query)
        if matched is None:
            return SearchFacets(sources=[], languages=[], days=[])
        where, params = matched
        counts: dict[str, list[FacetCount]] = {}
        for name, column, order in (
            ("sources", "a.source", "n DESC, value"),
            ("languages", "a.language", "n DESC, value"),
            ("days", "date(a.event_time)", "value"),
        ):
            sql = f"""SELECT {column} AS value, count(*) AS n {where}
                      AND {column} IS NOT NULL GROUP BY value ORDER BY {order}"""
            with self._lock:
                rows = self._db.execute(sql, params).fetchall()
            counts[name] = [FacetCount(value, int(n)) for value, n in rows]
        return SearchFacets(**counts)

    def stories(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        order: str = "latest",
        limit: int = 20,
        offset: int = 0,
        source: str | None = None,
        language: str | None = None,
    ) -> list[Story]:
        order_by = {"latest": "last_seen DESC", "biggest": "article_count DESC, last_seen DESC"}
        if order not in order_by:
            raise ValueError(f"order must be one of {sorted(order_by)}, not {order!r}")
        sql = "SELECT doc FROM stories WHERE merged_into IS NULL"
        params: list[object] = []
        if since is not None:
            sql += " AND last_seen >= ?"
            params.append(since.isoformat())
        if until is not None:
            sql += " AND last_seen < ?"
            params.append(until.isoformat())
        for path, value in (("$.sources", source), ("$.languages", language)):
            if value is not None:
                sql += " AND EXISTS (SELECT 1 FROM json_each(doc, ?) WHERE value = ?)"
                params += [path, value]
        sql += f" ORDER BY {order_by[order]} LIMIT ? OFFSET ?"
        params += [limit, offset]
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Story.model_validate_json(doc) for (doc,) in rows]

    def get_articles(self, ids: Sequence[str]) -> list[Article]:
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, doc FROM articles WHERE id IN ({','.join('?' * len(wanted))})",
                wanted,
            ).fetchall()
        found = {row_id: Article.model_validate_json(doc) for row_id, doc in rows}
        return [found[i] for i in wanted if i in found]

    def story_articles(self, story_id: str) -> list[Article]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM articles WHERE story_id = ? ORDER BY event_time, id", (story_id,)
            ).fetchall()
        return [Article.model_validate_json(doc) for (doc,) in rows]

    def get_story(self, story_id: str) -> Story | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM stories WHERE id = ?", (story_id,)).fetchone()
        return Story.model_validate_json(row[0]) if row else None

    def count_articles(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM articles").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _matching(query: SearchQuery) -> tuple[str, list[object]] | None:
    """The FROM and WHERE clauses selecting the articles `query` matches, with their
    parameters; None when the query has no words."""
    match = to_fts_query(query.text)
    if not match:
        return None
    sql = [
        """FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid
           WHERE articles_fts MATCH ?"""
    ]
    params: list[object] = [match]
    for column, value in (("a.source", query.source), ("a.language", query.language)):
        if value is not None:
            sql.append(f"AND {column} = ?")
            params.append(value)
    for op, when in ((">=", query.since), ("<", query.until)):
        if when is not None:
            sql.append(f"AND a.event_time {op} ?")
            params.append(when.isoformat())
    return " ".join(sql), params


def to_fts_query(text: str) -> str:
    """A user's words as an FTS5 query: every word must match, punctuation taken literally.

    Each word becomes a quoted FTS5 string, so `QwQ-32B` searches the phrase `qwq 32b`
    instead of failing as FTS5 syntax.
    """
    words = [w.replace('"', '""') for w in text.split()]
    return " ".join(f'"{w}"' for w in words if w.strip('"'))

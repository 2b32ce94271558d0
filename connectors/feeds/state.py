"""Per-feed state that outlives a run, in SQLite under the data dir.

Three tables: `feeds` (validators, body hash, polling schedule, health), `seen_items`
(per feed: the GUIDs, canonical URLs and content hashes of entries already handled) and
`seen_articles` (canonical URLs of articles already fetched, across all feeds).
Times are Unix seconds (UTC).
"""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from connectors.feeds.lists import DEFAULT_GROUP, FeedSpec
from connectors.feeds.seen import ItemKey

FILE_NAME = "feedstate.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT,
    feed_group TEXT NOT NULL DEFAULT 'default',
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    interval_s REAL NOT NULL,
    next_poll_at REAL NOT NULL DEFAULT 0,
    last_polled_at REAL,
    last_full_at REAL,
    last_success_at REAL,
    last_new_at REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS seen_items (
    feed_url TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (feed_url, kind, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_articles (
    canonical_url TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class FeedRecord:
    """What is known about one feed between polls."""

    url: str
    name: str | None = None
    feed_group: str = DEFAULT_GROUP
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    interval_s: float = 900.0
    next_poll_at: float = 0.0
    last_polled_at: float | None = None
    last_full_at: float | None = None
    last_success_at: float | None = None
    last_new_at: float | None = None
    failures: int = 0
    dead: bool = False
    last_error: str | None = None


_COLUMNS = [f.name for f in fields(FeedRecord)]


def _record(row: Sequence[object]) -> FeedRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["dead"] = bool(values["dead"])
    return FeedRecord(**values)  # type: ignore[arg-type]


class FeedState:
    """The feed-state database; one connection, used from one thread.

    Each write is rolled back if it fails; see `in_data_dir` for deferred commits.
    """

    def __init__(self, path: Path, *, autocommit: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._autocommit = autocommit
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, autocommit: bool = True) -> FeedState:
        """The feed state of the data dir (created on first use).

        With `autocommit=False` nothing is written until `commit()`: a run that dies before
        its articles are safely downstream leaves the state as it was (at-least-once).
        """
        return cls(data_dir / FILE_NAME, autocommit=autocommit)

    def commit(self) -> None:
        """Make the writes so far durable (needed only without autocommit)."""
        self._db.commit()

    def close(self) -> None:
        """Close; writes not committed yet are discarded."""
        self._db.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write: rolled back if it fails, committed at once in autocommit mode."""
        try:
            yield self._db
        except BaseException:
            self._db.rollback()
            raise
        if self._autocommit:
            self._db.commit()

    def __enter__(self) -> FeedState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- feeds ------------------------------------------------------------------------------

    def get(self, url: str) -> FeedRecord | None:
        row = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM feeds WHERE url = ?", (url,)
        ).fetchone()
        return _record(row) if row else None

    def feeds(self) -> list[FeedRecord]:
        """Every known feed, by URL."""
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM feeds ORDER BY url")
        return [_record(row) for row in rows]

    def save(self, record: FeedRecord) -> None:
        """Insert or replace the record of `record.url`."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._writing() as db:
            db.execute(
                f"INSERT OR REPLACE INTO feeds ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                astuple(record),
            )

    def add(self, feeds: Iterable[FeedSpec], interval_s: float) -> int:
        """Register feeds not known yet (due at once); returns how many were new."""
        with self._writing() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO feeds (url, name, feed_group, interval_s) "
                "VALUES (?, ?, ?, ?)",
                [(feed.url, feed.name, feed.group, interval_s) for feed in feeds],
            )
            return db.total_changes - before

    def revive(self, url: str) -> bool:
        """Clear a feed's failures and dead mark and make it due now; False if unknown."""
        with self._writing() as db:
            cursor = db.execute(
                "UPDATE feeds SET dead = 0, failures = 0, next_poll_at = 0, last_error = NULL "
                "WHERE url = ?",
                (url,),
            )
            return cursor.rowcount > 0

    # --- items seen per feed ---------------------------------------------------------------

    def seen_keys(self, feed_url: str, keys: Iterable[ItemKey]) -> set[ItemKey]:
        """Which of `keys` (kind, value) were already seen for this feed."""
        wanted = set(keys)
        if not wanted:
            return set()
        rows = self._db.execute(
            "SELECT kind, value FROM seen_items WHERE feed_url = ?", (feed_url,)
        )
        return {(kind, value) for kind, value in rows if (kind, value) in wanted}

    def mark_seen(self, feed_url: str, keys: Iterable[ItemKey], now: float) -> None:
        with self._writing() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen_items (feed_url, kind, value, seen_at) "
                "VALUES (?, ?, ?, ?)",
                [(feed_url, kind, value, now) for kind, value in keys],
            )

    # --- articles seen by canonical URL ----------------------------------------------------

    def articles_seen(self, canonical_urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs were already fetched as articles."""
        wanted = list(dict.fromkeys(canonical_urls))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._db.execute(
                f"SELECT canonical_url FROM seen_articles WHERE canonical_url IN ({marks})",
                chunk,
            )
            found.update(url for (url,) in rows)
        return found

    def mark_articles(self, canonical_urls: Iterable[str], now: float) -> None:
        with self._writing() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen_articles (canonical_url, seen_at) VALUES (?, ?)",
                [(url, now) for url in canonical_urls],
            )

    def forget_before(self, cutoff: float) -> int:
        """Drop seen items and articles older than `cutoff`; returns how many rows went."""
        with self._writing() as db:
            before = db.total_changes
            db.execute("DELETE FROM seen_items WHERE seen_at < ?", (cutoff,))
            db.execute("DELETE FROM seen_articles WHERE seen_at < ?", (cutoff,))
            return db.total_changes - before


FEED_STATE_LOCK = "feedstate.lock"
LOCK_POLL_S = 0.2


@asynccontextmanager
async def feed_state_turn(data_dir: Path) -> AsyncIterator[FeedState]:
    """The data dir's feed state without autocommit, held by this run alone.

    Its write transaction lasts the whole run (committed after the pipeline processed it), so
    runs of other groups on the same data dir wait here for their turn (a file lock) instead
    of failing on a locked database.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / FEED_STATE_LOCK).open("a") as lock:  # closing it releases the lock
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(LOCK_POLL_S)
        with FeedState.in_data_dir(data_dir, autocommit=False) as state:
            yield state

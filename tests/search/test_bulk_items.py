"""Per-item outcomes of a bulk call: retried, refused or acknowledged (scripted responses).

A real server does not produce item-level 429s on demand, so these drive the store with a
client that answers from a script; everything else about the store is the production code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.search import RemoteSearchStore, SearchUnavailable
from connectors.search.backend import SearchBackend
from connectors.search.retry import RetryPolicy
from schemas import Article

FAST = RetryPolicy(max_elapsed_s=0.5, first_delay_s=0.01, max_delay_s=0.02)


def article(n: int) -> Article:
    url = f"https://example.com/{n}"
    return Article(
        id=f"{n:024x}",
        url=url,
        canonical_url=url,
        source="Example",
        text=f"Body {n}.",
        fetched_at=datetime(2025, 3, 6, tzinfo=UTC),
        content_hash=f"{n + 1000:024x}",
    )


class ScriptedBulk:
    """Answers each bulk call with the next list of item statuses; repeats the last one."""

    def __init__(self, *rounds: dict[str, int]) -> None:
        self.rounds: Iterator[dict[str, int]] = iter(rounds)
        self.last: dict[str, int] = {}
        self.sent: list[list[str]] = []

    def bulk(self, body: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [op["index"]["_id"] for op in body[::2]]
        assert all(op["index"]["require_alias"] for op in body[::2])
        self.sent.append(ids)
        self.last = next(self.rounds, self.last)
        items = []
        for record_id in ids:
            status = self.last.get(record_id, 201)
            outcome: dict[str, Any] = {"_id": record_id, "status": status}
            if status >= 300:
                outcome["error"] = {"type": f"error_{status}", "reason": f"status {status}"}
            items.append({"index": outcome})
        return {"errors": any(s >= 300 for s in self.last.values()), "items": items}

    def close(self) -> None:
        pass


def store_with(client: ScriptedBulk) -> RemoteSearchStore:
    backend = SearchBackend("Scripted", "http://127.0.0.1:1", client, lambda exc: None)
    return RemoteSearchStore(backend, retry=FAST, bulk_size=2)


def test_items_rejected_for_load_are_resent_until_acknowledged() -> None:
    a, b, c = article(1), article(2), article(3)
    client = ScriptedBulk({a.id: 429}, {}, {})
    report = store_with(client).upsert_articles([a, b, c])
    assert (report.written, report.failures) == (3, [])
    assert client.sent == [[a.id, b.id], [a.id], [c.id]]


def test_refused_items_are_reported_with_the_reason_and_not_resent() -> None:
    a, b = article(1), article(2)
    client = ScriptedBulk({b.id: 400})
    report = store_with(client).upsert_articles([a, b])
    assert report.written == 1
    assert [(f.record_id, f.reason) for f in report.failures] == [
        (b.id, "HTTP 400 error_400: status 400")
    ]
    assert client.sent == [[a.id, b.id]]


def test_items_still_overloaded_after_the_budget_raise() -> None:
    a, b = article(1), article(2)
    client = ScriptedBulk({a.id: 503})
    with pytest.raises(SearchUnavailable, match="HTTP 503"):
        store_with(client).upsert_articles([a, b])
    assert len(client.sent) > 2 and all(ids == [a.id] for ids in client.sent[1:])


def test_bulk_requests_are_bounded_in_documents_and_size() -> None:
    big = [article(n).model_copy(update={"text": "x" * 9_000_000}) for n in range(1, 4)]
    small = [article(n) for n in range(4, 9)]
    client = ScriptedBulk()
    report = store_with(client).upsert_articles([*big, *small])
    assert report.written == 8
    assert [len(ids) for ids in client.sent] == [1, 1, 2, 2, 2]  # 16M chars, then 2 docs

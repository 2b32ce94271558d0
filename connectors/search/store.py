"""`SearchStore` on Elasticsearch or OpenSearch: one implementation over a `SearchBackend`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.search import queries
from connectors.search.backend import (
    SearchBackend,
    SearchStoreError,
    SearchUnavailable,
    ServerError,
    http_error,
)
from connectors.search.documents import article_document, story_document
from connectors.search.retry import RetryBudget, RetryPolicy
from connectors.search.templates import IndexLayout, index_layout
from newsflow.store import IndexFailure, IndexReport, SearchFacets, SearchQuery, StoryResult
from schemas import Article, Story

log = logging.getLogger("newsflow.search")
_ALIAS_MISSING = "index_not_found_exception"


# Bulk requests stay well under the servers' default 100 MB `http.max_content_length`.
MAX_BULK_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class _Pending:
    """One document of a bulk call still waiting for the server's acknowledgement."""

    record_id: str
    document: dict[str, Any]

    @property
    def size_hint(self) -> int:
        """Roughly how many characters the document takes in a request (its long texts)."""
        texts = (v for v in self.document.values() if isinstance(v, str))
        return 256 + sum(len(text) for text in texts)


def _chunks(
    items: Sequence[_Pending], max_docs: int, max_chars: int = MAX_BULK_CHARS
) -> Iterator[Sequence[_Pending]]:
    """Consecutive runs of at most `max_docs` items and (unless one item alone) `max_chars`."""
    start, chars = 0, 0
    for end, item in enumerate(items):
        size = item.size_hint
        if end > start and (end - start == max_docs or chars + size > max_chars):
            yield items[start:end]
            start, chars = end, 0
        chars += size
    if start < len(items):
        yield items[start:]


class RemoteSearchStore:
    """Articles and stories in versioned indices behind aliases on a search server.

    Writes are bulk `index` operations with `_id` = record id, so a redelivered record
    overwrites its earlier copy. Transient failures, of the whole request or of single
    items (429, 5xx), are retried within `retry.max_elapsed_s`; then `SearchUnavailable`
    is raised and nothing is reported as written that the server did not acknowledge.
    Items the server refuses for good (mapping errors) come back in `IndexReport.failures`.
    """

    def __init__(
        self,
        backend: SearchBackend,
        *,
        index_prefix: str = "newsflow-",
        refresh_interval: str = "1s",
        bulk_size: int = 500,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.articles = index_layout("articles", index_prefix, refresh_interval)
        self.story_index = index_layout("stories", index_prefix, refresh_interval)
        self.bulk_size = bulk_size
        self.retry = retry or RetryPolicy()
        self._unrefreshed = False

    def _budget(self, operation: str) -> RetryBudget:
        return RetryBudget(self.backend, self.retry, operation)

    # --- start-up ---------------------------------------------------------------------------

    def install(self) -> None:
        """Install both templates and make each alias point at its current versioned index."""
        for layout in (self.articles, self.story_index):
            self._install(layout)

    def _install(self, layout: IndexLayout) -> None:
        budget = self._budget(f"install {layout.alias}")
        budget.call(
            lambda client: client.indices.put_index_template(
                name=layout.template_name, body=layout.template_body
            )
        )
        self._ensure_alias(layout, budget)

    def _ensure_alias(self, layout: IndexLayout, budget: RetryBudget) -> None:
        if not budget.call(lambda client: bool(client.indices.exists_alias(name=layout.alias))):
            self._create_index(layout, budget)
            return
        current = set(budget.call(lambda client: dict(client.indices.get_alias(name=layout.alias))))
        if current != {layout.index}:
            self._migrate(layout, sorted(current - {layout.index}), budget)

    def _create_index(self, layout: IndexLayout, budget: RetryBudget) -> None:
        alias = {layout.alias: {"is_write_index": True}}
        try:
            budget.call(
                lambda client: client.indices.create(index=layout.index, body={"aliases": alias})
            )
        except SearchStoreError as exc:
            if exc.error.error_type != "resource_already_exists_exception":
                raise
            # Created meanwhile by another process, or left without its alias: (re)attach it.
            add = {
                "actions": [
                    {"add": {"index": layout.index, "alias": layout.alias, "is_write_index": True}}
                ]
            }
            budget.call(lambda client: client.indices.update_aliases(body=add))

    def _migrate(self, layout: IndexLayout, old: list[str], budget: RetryBudget) -> None:
        """Move the alias to the new index: writes go there at once, old documents follow.

        Reindexing uses `op_type: create`, so a document written to the new index during
        the copy is never overwritten by its older copy.
        """
        log.warning("reindexing %s from %s into %s", layout.alias, old, layout.index)
        if not budget.call(lambda client: bool(client.indices.exists(index=layout.index))):
            budget.call(lambda client: client.indices.create(index=layout.index))
        add_new = {"add": {"index": layout.index, "alias": layout.alias, "is_write_index": True}}
        keep_old = [
            {"add": {"index": name, "alias": layout.alias, "is_write_index": False}} for name in old
        ]
        budget.call(
            lambda client: client.indices.update_aliases(body={"actions": [add_new, *keep_old]})
        )
        reindex = {
            "source": {"index": old},
            "dest": {"index": layout.index, "op_type": "create"},
            "conflicts": "proceed",
        }
        budget.call(lambda client: client.reindex(body=reindex, refresh=True))
        drop_old = [{"remove": {"index": name, "alias": layout.alias}} for name in old]
        budget.call(lambda client: client.indices.update_aliases(body={"actions": drop_old}))

    # --- writes -----------------------------------------------------------------------------

    def upsert_articles(self, articles: Sequence[Article]) -> IndexReport:
        """Index `articles` by id; per-item refusals come back in the report."""
        pending = [_Pending(a.id, article_document(a)) for a in articles]
        return self._bulk_index(self.articles, pending, "index articles")

    def upsert_stories(self, stories: Sequence[Story]) -> IndexReport:
        """Index the latest state of `stories` by id (counts, outlets, last-seen time)."""
        pending = [_Pending(s.id, story_document(s)) for s in stories]
        report = self._bulk_index(self.story_index, pending, "index stories")
        refused = {failure.record_id for failure in report.failures}
        for story in stories:
            if story.merged_into and story.id not in refused:
                self._move_articles(story.id, story.merged_into)
        return report

    def _move_articles(self, from_story: str, to_story: str) -> None:
        """Hand the articles of a merged-away story over to the story it was merged into."""
        self.refresh()
        moved = [
            _Pending(a.id, article_document(a.model_copy(update={"story_id": to_story})))
            for a in self.story_articles(from_story)
        ]
        report = self._bulk_index(self.articles, moved, "move merged story's articles")
        if report.failures:
            raise SearchStoreError(
                f"moving articles of story {from_story} to {to_story} failed: "
                + "; ".join(f"{f.record_id}: {f.reason}" for f in report.failures[:5]),
                ServerError(None, "move_failed", "articles refused", transient=False),
            )

    def _bulk_index(
        self, layout: IndexLayout, pending: Sequence[_Pending], operation: str
    ) -> IndexReport:
        budget = self._budget(operation)
        self._unrefreshed = self._unrefreshed or bool(pending)
        written = 0
        failures: list[IndexFailure] = []
        for chunk in _chunks(pending, self.bulk_size):
            acknowledged, refused = self._bulk_chunk(layout, chunk, budget)
            written += acknowledged
            failures.extend(refused)
        return IndexReport(written=written, failures=failures)

    def _bulk_chunk(
        self, layout: IndexLayout, chunk: Sequence[_Pending], budget: RetryBudget
    ) -> tuple[int, list[IndexFailure]]:
        """Send `chunk` until every item is acknowledged or refused for good.

        Items are written through the alias with `require_alias`, so a server that lost its
        indices (restarted empty, alias deleted) never gets a dynamically mapped index
        named like the alias: those items come back 404, the index is reinstalled and
        they are sent again once both indices are reinstalled.
        """
        written = 0
        failures: list[IndexFailure] = []
        while chunk:
            operations: list[dict[str, Any]] = []
            for item in chunk:
                action = {"_index": layout.alias, "_id": item.record_id, "require_alias": True}
                operations += [{"index": action}, item.document]
            response = self._send_bulk(operations, budget)
            retry_later = []
            last_error = None
            for item, result in zip(chunk, response["items"], strict=True):
                outcome = result["index"]
                status = int(outcome.get("status", 500))
                if 200 <= status < 300:
                    written += 1
                    continue
                error = http_error(status, outcome, "bulk item error")
                if error.transient or error.error_type == _ALIAS_MISSING:
                    retry_later.append(item)
                    last_error = error
                else:
                    failures.append(IndexFailure(item.record_id, self.backend.scrub(str(error))))
            chunk = retry_later
            if last_error is not None:
                budget.back_off(last_error)
                if last_error.error_type == _ALIAS_MISSING:
                    log.warning("%s is missing on the server; reinstalling", layout.alias)
                    self.install()
        return written, failures

    @staticmethod
    def _send_bulk(operations: list[dict[str, Any]], budget: RetryBudget) -> dict[str, Any]:
        return dict(budget.call(lambda client: client.bulk(body=operations)))

    # --- reads ------------------------------------------------------------------------------

    def _search(self, index: str, body: dict[str, Any], operation: str) -> dict[str, Any]:
        search: Callable[[Any], Any] = lambda client: client.search(index=index, body=body)  # noqa: E731
        return dict(self._budget(operation).call(search))

    def search(self, query: SearchQuery) -> list[StoryResult]:
        """Matching articles grouped by story, best story first, with highlights."""
        if not query.text.strip():
            return []
        groups = queries.parse_search(
            self._search(self.articles.alias, queries.search_body(query), "search")
        )
        story_ids = sorted({g.story_id for g in groups if g.story_id})
        stories = self._stories_by_id(story_ids)
        return [StoryResult(g.story_id, stories.get(g.story_id or ""), g.hits) for g in groups]

    def _stories_by_id(self, story_ids: list[str]) -> dict[str, Story]:
        if not story_ids:
            return {}
        response = self._budget("get stories").call(
            lambda client: client.mget(index=self.story_index.alias, body={"ids": story_ids})
        )
        return queries.parse_mget_stories(response)

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
        """Stories last seen in the range, by `latest` last-seen or `biggest` article count."""
        body = queries.stories_body(
            since, until, order, limit, offset=offset, source=source, language=language
        )
        return queries.parse_stories(self._search(self.story_index.alias, body, "list stories"))

    def get_story(self, story_id: str) -> Story | None:
        """The stored story with this id (merged-away stories included), or None."""
        return self._stories_by_id([story_id]).get(story_id)

    def search_facets(self, query: SearchQuery) -> SearchFacets:
        """Counts of the articles matching `query` by outlet, language and UTC day."""
        if not query.text.strip():
            return SearchFacets(sources=[], languages=[], days=[])
        body = queries.facets_body(query)
        return queries.parse_facets(self._search(self.articles.alias, body, "search facets"))

    def get_articles(self, ids: Sequence[str]) -> list[Article]:
        """The stored articles with these ids, in the order given; unknown ids left out."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        response = self._budget("get articles").call(
            lambda client: client.mget(index=self.articles.alias, body={"ids": wanted})
        )
        found = queries.parse_mget_articles(response)
        return [found[i] for i in wanted if i in found]

    def story_articles(self, story_id: str) -> list[Article]:
        """The articles of one story, oldest first (all pages)."""
        articles: list[Article] = []
        after: list[Any] | None = None
        while True:
            body = queries.story_articles_body(story_id, after)
            page, after = queries.parse_articles(
                self._search(self.articles.alias, body, "story articles")
            )
            articles.extend(page)
            if after is None:
                return articles

    def count_articles(self) -> int:
        """How many articles the index holds (as of its last refresh)."""
        response = self._budget("count articles").call(
            lambda client: client.count(index=self.articles.alias)
        )
        return int(response["count"])

    def refresh(self) -> None:
        """Make everything written so far searchable now, without waiting for the interval."""
        self._refresh(self.retry)

    def _refresh(self, policy: RetryPolicy) -> None:
        aliases = f"{self.articles.alias},{self.story_index.alias}"
        budget = RetryBudget(self.backend, policy, "refresh")
        budget.call(lambda client: client.indices.refresh(index=aliases))
        self._unrefreshed = False

    def close(self) -> None:
        """Make this store's writes searchable (one attempt, no retries), then disconnect.

        A command that indexes and exits thus leaves its documents visible to the next one,
        as the SQLite store does, without waiting for the refresh interval.
        """
        try:
            if self._unrefreshed:
                self._refresh(RetryPolicy(max_elapsed_s=0.0))
        except (SearchUnavailable, SearchStoreError) as exc:
            log.warning("final refresh skipped: %s", exc)
        finally:
            self.backend.close()

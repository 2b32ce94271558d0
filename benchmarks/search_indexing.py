"""Documents per second through the search store's indexer vs the client's plain bulk helper.

Both contenders index the same article documents into freshly installed indices (same
templates, same server, same run, rounds interleaved); the report is the ratio of their
median rates. Target: ratio >= 0.8 (the store's per-item bookkeeping, retries and
require_alias cost at most a fifth of the raw helper's throughput).

    PYTHONPATH=. python benchmarks/search_indexing.py            # starts an osmem-server
    PYTHONPATH=. python benchmarks/search_indexing.py --opensearch-url http://127.0.0.1:9200
    PYTHONPATH=. python benchmarks/search_indexing.py --es-url https://localhost:9200

With no URL, an in-memory osmem-server is started on a free loopback port and reached through
the OpenSearch backend. Articles are extracted from the shared corpus pages (`../shared`),
then copied under new URLs up to `--docs` documents.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.search import RemoteSearchStore, connect_backend, store_for
from connectors.search.documents import article_document
from newsflow.config import SearchSettings
from newsflow.extract import PageInput, extract_article
from newsflow.sources import SourceItem
from newsflow.urls import article_id
from schemas import Article

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TARGET_RATIO = 0.8


def corpus_articles(pages: int) -> list[Article]:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    fetched = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
    articles = []
    for entry in sorted(manifest, key=lambda e: e["file"]):
        if not entry["url"].startswith(("http://", "https://")):
            continue
        content = (CORPUS / "html" / entry["file"]).read_bytes()
        outcome = extract_article(
            PageInput(content, entry["url"], fetched), SourceItem(entry["url"])
        )
        if isinstance(outcome, Article):
            articles.append(outcome)
        if len(articles) == pages:
            break
    return articles


def documents(seed: list[Article], count: int) -> list[Article]:
    """`count` articles: the extracted ones, then copies of them under new URLs."""
    copies = []
    for n in range(count):
        base = seed[n % len(seed)]
        url = f"{base.canonical_url}#copy-{n}" if n >= len(seed) else base.canonical_url
        copies.append(base.model_copy(update={"id": article_id(url), "canonical_url": url}))
    return copies


def fresh_store(base: SearchSettings, label: str) -> RemoteSearchStore:
    settings = base.model_copy(update={"search_index_prefix": f"bench-{label}-"})
    backend = connect_backend(settings)
    assert backend is not None, "no search server configured"
    return store_for(backend, settings)


def through_store(store: RemoteSearchStore, articles: list[Article]) -> None:
    report = store.upsert_articles(articles)
    assert report.written == len(articles) and not report.failures, report.failures[:3]


def through_helper(store: RemoteSearchStore, articles: list[Article], bulk_size: int) -> None:
    if store.backend.name == "OpenSearch":
        from opensearchpy import helpers as opensearch_helpers

        bulk: Callable[..., Any] = opensearch_helpers.bulk
    else:
        from elasticsearch import helpers as elasticsearch_helpers

        bulk = elasticsearch_helpers.bulk
    actions = (
        {"_index": store.articles.alias, "_id": a.id, "_source": article_document(a)}
        for a in articles
    )
    written, errors = bulk(store.backend.client, actions, chunk_size=bulk_size)
    assert written == len(articles) and not errors


def run(settings: SearchSettings, articles: list[Article], rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"store": [], "helpers.bulk": []}
    for round_number in range(rounds):
        order = ["store", "helpers.bulk"]
        if round_number % 2:
            order.reverse()
        for contender in order:
            store = fresh_store(settings, f"{round_number}-{contender.replace('.', '')}")
            try:
                started = time.perf_counter()
                if contender == "store":
                    through_store(store, articles)
                else:
                    through_helper(store, articles, settings.search_bulk_size)
                rates[contender].append(len(articles) / (time.perf_counter() - started))
                store.refresh()
                assert store.count_articles() == len(articles)
            finally:
                store.close()
    store_rate = statistics.median(rates["store"])
    helper_rate = statistics.median(rates["helpers.bulk"])
    return {
        "documents": len(articles),
        "rounds": rounds,
        "bulk_size": settings.search_bulk_size,
        "store_docs_per_s": round(store_rate, 1),
        "helpers_bulk_docs_per_s": round(helper_rate, 1),
        "ratio": round(store_rate / helper_rate, 3),
        "target": TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=40, help="corpus pages to extract")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--es-url")
    parser.add_argument("--opensearch-url")
    args = parser.parse_args()
    articles = documents(corpus_articles(args.pages), args.docs)
    server = None
    url = args.opensearch_url
    if not (args.es_url or url):
        from osmem_server import OsmemServer  # type: ignore[import-untyped]

        server = OsmemServer.start(addr="127.0.0.1:0", japanese=False)
        url = server.url
    try:
        settings = SearchSettings(es_url=args.es_url, opensearch_url=url)
        result = run(settings, articles, args.rounds)
    finally:
        if server is not None:
            server.close()
    result["server"] = "osmem-server (OpenSearch backend)" if server else "given URL"
    print(json.dumps(result))
    verdict = "meets" if result["ratio"] >= TARGET_RATIO else "MISSES"
    print(f"store/helpers.bulk = {result['ratio']:.3f} ({verdict} the {TARGET_RATIO} target)")


if __name__ == "__main__":
    main()

"""The shipped index templates map exactly the fields the store writes."""

from __future__ import annotations

import pytest

from connectors.search.documents import DERIVED_ARTICLE_FIELDS, article_document
from connectors.search.templates import index_layout, mapped_fields
from schemas import Article, Story


@pytest.mark.parametrize(
    ("kind", "model", "derived"),
    [("articles", Article, set(DERIVED_ARTICLE_FIELDS)), ("stories", Story, set())],
)
def test_every_model_field_is_mapped_and_nothing_else(
    kind: str, model: type[Article] | type[Story], derived: set[str]
) -> None:
    mapped = set(mapped_fields(kind))
    assert set(model.model_fields) - mapped == set(), "model fields missing from the template"
    assert mapped - set(model.model_fields) == derived, "template maps fields nobody writes"


def test_article_document_carries_exactly_the_mapped_fields() -> None:
    from datetime import UTC, datetime

    article = Article(
        id="a" * 24,
        url="https://example.com/a",
        canonical_url="https://example.com/a",
        source="Example",
        text="Body.",
        fetched_at=datetime(2025, 3, 6, tzinfo=UTC),
        content_hash="b" * 24,
    )
    document = article_document(article)
    assert set(document) == set(mapped_fields("articles"))
    assert document["group_id"] == article.id
    assert document["event_time"] == "2025-03-06T00:00:00+00:00"


def test_filter_and_sort_fields_have_exact_types() -> None:
    articles, stories = mapped_fields("articles"), mapped_fields("stories")
    for name in ("source", "language", "story_id", "group_id", "id", "content_hash"):
        assert articles[name]["type"] == "keyword", name
    for name in ("published_at", "fetched_at", "event_time"):
        assert articles[name]["type"] == "date", name
    for name in ("title", "text", "lead"):
        assert articles[name]["type"] == "text", name
    assert articles["title"]["fields"]["keyword"]["type"] == "keyword"
    assert stories["headline"]["fields"]["keyword"]["type"] == "keyword"
    assert (stories["first_seen"]["type"], stories["last_seen"]["type"]) == ("date", "date")
    assert stories["article_count"]["type"] == "integer"


def test_layout_renders_prefix_version_and_refresh_interval() -> None:
    layout = index_layout("articles", "prod-", "30s")
    assert layout.alias == "prod-articles"
    assert layout.index == "prod-articles-v1"
    assert layout.template_body["index_patterns"] == ["prod-articles-v*"]
    assert layout.template_body["template"]["settings"]["refresh_interval"] == "30s"
    assert layout.template_body["template"]["mappings"]["dynamic"] == "strict"
    assert (
        index_layout("articles", "x-", "1s").template_body["template"]["settings"][
            "refresh_interval"
        ]
        == "1s"
    ), "rendering must not change the shipped template"

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from pydantic import ValidationError

from schemas import Article, Story
from schemas.export import MESSAGE_MODELS, SCHEMA_DIR, render

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)


def make_article(**overrides: object) -> Article:
    fields: dict[str, object] = {
        "id": "0123456789abcdef01234567",
        "url": "https://news.example.com/a",
        "canonical_url": "https://news.example.com/a",
        "source": "Example Wire",
        "title": "A title",
        "text": "Some text.",
        "fetched_at": NOW,
        "content_hash": "ab" * 16,
    }
    fields.update(overrides)
    return Article.model_validate(fields)


@pytest.mark.parametrize("filename", sorted(MESSAGE_MODELS))
def test_committed_json_schema_matches_the_model(filename: str) -> None:
    committed = (SCHEMA_DIR / filename).read_text(encoding="utf-8")
    assert committed == render(MESSAGE_MODELS[filename]), (
        f"schemas/{filename} is stale: run `python -m schemas.export` and commit the result"
    )


def test_serialised_article_validates_against_the_exported_schema() -> None:
    article = make_article(published_at=NOW, authors=["A. Writer"], story_id="feedface")
    schema = (SCHEMA_DIR / "article.schema.json").read_text(encoding="utf-8")
    jsonschema.validate(article.model_dump(mode="json"), json.loads(schema))


def test_exported_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads((SCHEMA_DIR / "article.schema.json").read_text(encoding="utf-8"))
    document = make_article().model_dump(mode="json")
    document["unexpected"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_article_round_trips_through_json() -> None:
    article = make_article(published_at=NOW, language="en")
    assert Article.model_validate_json(article.model_dump_json()) == article


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fetched_at", datetime(2025, 3, 6, 12, 0)),  # no timezone
        ("id", "NOT-HEX"),
        ("text", ""),
        ("schema_version", 2),
        ("surprise", "extra fields are refused"),
    ],
)
def test_article_rejects_invalid_fields(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_article(**{field: value})


def test_event_time_prefers_publication_over_fetch() -> None:
    published = datetime(2025, 3, 5, tzinfo=UTC)
    assert make_article(published_at=published).event_time == published
    assert make_article().event_time == NOW


def test_event_time_is_never_after_the_fetch() -> None:
    assert make_article(published_at=NOW + timedelta(days=400)).event_time == NOW


def test_story_counts_cannot_be_negative() -> None:
    with pytest.raises(ValidationError):
        Story(id="abcdef12", headline="h", first_seen=NOW, last_seen=NOW, article_count=-1)

"""Documents from JSON records (the `newsflow cluster` input format) and assignments back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsflow.clustering.model import Assignment, Document

_OPTIONAL_TEXT = ("source", "url", "language")


def document_from_record(record: Any) -> Document:
    """A `Document` from `{"id", "title", "text", "published_at"?, "source"?, "url"?,
    "language"?}`; other keys are ignored. `published_at` is ISO 8601; one without a
    timezone is read as UTC. Raises `ValueError` saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    for key in ("id", "title", "text"):
        if not isinstance(record.get(key), str):
            raise ValueError(f"field {key!r} must be a string")
    if not record["id"]:
        raise ValueError("field 'id' must not be empty")
    optional: dict[str, str | None] = {}
    for key in _OPTIONAL_TEXT:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"field {key!r} must be a string or null")
        optional[key] = value or None
    return Document(
        id=record["id"],
        title=record["title"],
        text=record["text"],
        published_at=_parse_time(record.get("published_at")),
        source=optional["source"],
        url=optional["url"],
        language=optional["language"],
    )


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("field 'published_at' must be an ISO 8601 string or null")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"field 'published_at' is not ISO 8601: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def assignment_record(assignment: Assignment) -> dict[str, str | None]:
    """The output line of one assignment: `{"id", "story_id", "duplicate_of"}`."""
    return {
        "id": assignment.doc_id,
        "story_id": assignment.story_id,
        "duplicate_of": assignment.duplicate_of,
    }

"""Write the JSON Schema of every message model next to this module.

Run `python -m schemas.export` after changing a model; `tests/test_schemas.py` fails while
the committed files differ from what the models generate.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.models import Article, Story

SCHEMA_DIR = Path(__file__).parent
MESSAGE_MODELS: dict[str, type[BaseModel]] = {
    "article.schema.json": Article,
    "story.schema.json": Story,
}


def render(model: type[BaseModel]) -> str:
    """The JSON Schema of `model` as committed: sorted keys, two-space indent, final newline."""
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    for filename, model in MESSAGE_MODELS.items():
        (SCHEMA_DIR / filename).write_text(render(model), encoding="utf-8")
        print(f"wrote schemas/{filename}")


if __name__ == "__main__":
    main()

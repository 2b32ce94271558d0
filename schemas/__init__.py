"""Message and index definitions shared by every stage of the pipeline.

`Article` and `Story` are the Kafka message bodies and the documents of the search store.
The JSON Schema files beside this module are generated from them (`python -m schemas.export`).
"""

from schemas.models import SCHEMA_VERSION, Article, Story

__all__ = ["SCHEMA_VERSION", "Article", "Story"]

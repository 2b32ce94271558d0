"""The index templates shipped in `schemas/elasticsearch/`, rendered for one deployment.

Each kind of record (articles, stories) lives in a versioned index `<prefix><kind>-v<N>`
behind the alias `<prefix><kind>`; N is the template's `version`. Raising the version in the
JSON file makes the next start-up create the new index, reindex into it and swap the alias.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

KINDS = ("articles", "stories")


@cache
def load_template(kind: str) -> dict[str, Any]:
    """The template file for `kind` as shipped, parsed."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; expected one of {KINDS}")
    text = resources.files("schemas").joinpath("elasticsearch", f"{kind}.json").read_text("utf-8")
    template: dict[str, Any] = json.loads(text)
    return template


def mapped_fields(kind: str) -> dict[str, dict[str, Any]]:
    """Top-level field name -> mapping of the `kind` template."""
    properties: dict[str, dict[str, Any]] = load_template(kind)["template"]["mappings"][
        "properties"
    ]
    return properties


@dataclass(frozen=True)
class IndexLayout:
    """Names and template body of one kind of index in one deployment."""

    kind: str
    alias: str
    index: str
    template_name: str
    template_body: dict[str, Any]


def index_layout(kind: str, prefix: str, refresh_interval: str) -> IndexLayout:
    """Render the `kind` template for an index prefix and a refresh interval."""
    shipped = load_template(kind)
    version = int(shipped["version"])
    alias = f"{prefix}{kind}"
    body = copy.deepcopy(shipped)
    body["index_patterns"] = [f"{alias}-v*"]
    body["template"]["settings"]["refresh_interval"] = refresh_interval
    return IndexLayout(
        kind=kind,
        alias=alias,
        index=f"{alias}-v{version}",
        template_name=alias,
        template_body=body,
    )

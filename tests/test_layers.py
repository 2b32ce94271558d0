"""Imports run one way: entry points -> composition -> connectors -> core (docs/decisions.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("newsflow", "connectors", "schemas", "flows")
# Lower layers first; a module may import its own layer and the ones before it.
LAYERS = ("core", "connectors", "composition", "entry")
COMPOSITION = {"newsflow.pipeline", "newsflow.ingest", "newsflow.replay", "newsflow.cluster_state"}


def layer(module: str) -> str:
    if module.startswith(("newsflow.cli", "newsflow.__main__", "flows")):
        return "entry"
    if module in COMPOSITION:
        return "composition"
    if module.startswith("connectors"):
        return "connectors"
    return "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST) -> set[str]:
    """Every project module `tree` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in PACKAGES}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def test_the_layer_rule_knows_every_kind_of_module() -> None:
    assert layer("newsflow.cli.app") == layer("flows.poll_feeds") == "entry"
    assert layer("newsflow.pipeline") == "composition"
    assert layer("connectors.feeds.poll") == "connectors"
    assert layer("newsflow.clustering.clusterer") == layer("schemas.models") == "core"
    bad = ast.parse("from newsflow.pipeline import Pipeline")
    assert imported(bad) == {"newsflow.pipeline"}


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    own = LAYERS.index(layer(module_name(path)))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    above = {name for name in imported(tree) if LAYERS.index(layer(name)) > own}
    assert not above, f"{module_name(path)} ({LAYERS[own]}) imports {sorted(above)}"

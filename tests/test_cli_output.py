"""newsflow.cli.output: the one place the CLI prints, and that every command uses it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from rich.console import Console

from newsflow.cli import output

CLI = Path(__file__).resolve().parents[1] / "newsflow" / "cli"


def rendered(*parts: output.Part) -> str:
    console = Console(file=None, width=200, color_system=None, force_terminal=False)
    with console.capture() as capture:
        console.print(output.line(*parts))
    return capture.get()


def test_untrusted_text_is_printed_verbatim_and_controls_are_shown() -> None:
    hostile = "[/x] [red]beta[/] :smile: \x1b[2J\x9b31m bell\x07"
    assert rendered(hostile).rstrip("\n") == "[/x] [red]beta[/] :smile: \\x1b[2J\\x9b31m bell\\x07"
    assert rendered(output.label("[/]", "bold"), " ", "[b]").rstrip("\n") == "[/] [b]"


def test_json_is_plain_and_terminal_safe() -> None:
    record = {"title": "Alpha [red]beta [/x] \x1b \x9b é"}
    text = output.json_text(record)
    assert json.loads(text) == record
    assert "\x1b" not in text and "\x9b" not in text and "é" in text


def test_no_command_module_prints_or_builds_a_console_itself() -> None:
    """Commands print through `output` only, so a new command cannot forget to escape."""
    forbidden_calls = {"print", "echo", "secho", "Console", "print_json"}
    for path in sorted(CLI.glob("*.py")):
        if path.name == "output.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in forbidden_calls, f"{path.name}:{node.lineno} calls {name}"
            if isinstance(node, ast.ImportFrom) and node.module == "rich.console":
                raise AssertionError(f"{path.name}:{node.lineno} imports rich.console")
            if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr"):
                raise AssertionError(f"{path.name}:{node.lineno} writes to sys.{node.attr}")

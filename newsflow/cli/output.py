"""Everything the CLI prints goes through here: untrusted text is data, never markup.

Titles, URLs, queries, feed names and error details come from strangers. So:

- JSON output is written as plain text to stdout, never through a console that parses markup.
- Human output goes through consoles with markup, emoji and highlighting off; our own labels
  are styled explicitly with `label`, and every other string is printed verbatim, terminal
  control characters (ESC, C1 codes, ...) shown as `\\xNN` instead of sent to the terminal.

Commands use `json_line`, `say`, `note`, `error` and `show`; nothing else in `newsflow.cli`
creates a console or prints.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import Progress, ProgressColumn
from rich.table import Table
from rich.text import Text


def _console(*, stderr: bool) -> Console:
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)


_stdout = _console(stderr=False)
_stderr = _console(stderr=True)

# C0 controls but tab and newline, DEL and the C1 controls (0x9b is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# In JSON text, a raw C1 control can only occur inside a string, where \uXXXX means the same.
_C1 = re.compile(r"[\x7f-\x9f]")

Part = str | Text


def plain(value: object) -> Text:
    """`value` as verbatim text: no markup, no emoji codes, control characters made visible."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value)))


def label(value: object, style: str) -> Text:
    """Text in `style` (our own labels, or an untrusted string shown verbatim in a style)."""
    text = plain(value)
    text.stylize(style)
    return text


def line(*parts: Part) -> Text:
    """One line from parts: strings are verbatim text, `Text` parts keep their style."""
    return Text.assemble(*(plain(part) if isinstance(part, str) else part for part in parts))


def json_text(record: Any, indent: int | None = None) -> str:
    """`record` as JSON (one line unless `indent`), safe to send to a terminal."""
    encoded = json.dumps(record, ensure_ascii=False, indent=indent)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


def json_line(record: Any, indent: int | None = None) -> None:
    """Write `record` to stdout as JSON, one line unless `indent` (plain text, no markup)."""
    sys.stdout.write(json_text(record, indent) + "\n")
    sys.stdout.flush()


def raw(document: bytes) -> None:
    """Write a document (e.g. OPML) to stdout as it is."""
    sys.stdout.buffer.write(document)
    sys.stdout.flush()


def say(*parts: Part) -> None:
    """A line of human output on stdout."""
    _stdout.print(line(*parts))


def note(*parts: Part) -> None:
    """A line for the user on stderr: progress notes, summaries, skips."""
    _stderr.print(line(*parts))


def error(message: str) -> None:
    """An error line on stderr: `error: <message>`, the message verbatim."""
    note(label("error:", "bold red"), " ", message)


def show(renderable: RenderableType) -> None:
    """A table (or other renderable built from `plain`/`label` parts) on stdout."""
    _stdout.print(renderable)


def table(*columns: str, title: Part | None = None, caption: Part | None = None) -> Table:
    """A table whose title, caption and cells are printed verbatim (add rows with `row`)."""
    return Table(
        *columns,
        title=line(title) if title is not None else None,
        caption=line(caption) if caption is not None else None,
        title_justify="left",
        caption_justify="left",
    )


def row(target: Table, *cells: object) -> None:
    """Add a row of verbatim cells to `target`."""
    target.add_row(*(cell if isinstance(cell, Text) else plain(cell) for cell in cells))


def progress(*columns: str | ProgressColumn) -> Progress:
    """A transient progress bar on stderr (its descriptions are our own text)."""
    return Progress(*columns, console=_stderr, transient=True)

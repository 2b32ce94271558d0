"""`newsflow cluster`: assign stories to a JSONL file of articles, as one stream."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from newsflow.cli.app import app, console, fail, settings_for
from newsflow.clustering import Merges, StoryClusterer
from newsflow.clustering.records import assignment_record, document_from_record
from newsflow.clustering.snapshot import SnapshotError


class MalformedLine(ValueError):
    """An input line that is not a valid article record."""


def _records(handle: TextIO, progress: Progress, task: TaskID) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON) for each non-blank line, advancing the progress bar."""
    for number, line in enumerate(handle, start=1):
        progress.advance(task, len(line.encode("utf-8")))
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise MalformedLine(f"line {number}: not valid JSON ({exc.msg})") from exc


def _cluster_file(clusterer: StoryClusterer, source: Path, target: TextIO) -> tuple[int, Merges]:
    """Stream the articles of `source` through `clusterer`, writing one assignment per line;
    returns how many, and the merges made meanwhile."""
    written = 0
    merges = Merges()
    columns = (
        TextColumn("clustering"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with (
        source.open(encoding="utf-8-sig") as handle,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task("cluster", total=source.stat().st_size)
        for number, record in _records(handle, progress, task):
            try:
                document = document_from_record(record)
            except ValueError as exc:
                raise MalformedLine(f"line {number}: {exc}") from exc
            assignment = clusterer.add(document)
            merges.record(assignment)
            target.write(json.dumps(assignment_record(assignment)) + "\n")
            written += 1
    return written, merges


def _resolve_merges(path: Path, merges: Merges) -> None:
    """Rewrite the assignments in `path` with the story each article is in at the end, as the
    store reports them."""
    handle, resolved = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with path.open(encoding="utf-8") as lines, os.fdopen(handle, "w", encoding="utf-8") as out:
            for line in lines:
                row = json.loads(line)
                row["story_id"] = merges.final(row["story_id"])
                out.write(json.dumps(row) + "\n")
        os.replace(resolved, path)
    except BaseException:
        Path(resolved).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@app.command("cluster")
def cluster(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input", "-i", exists=True, dir_okay=False, help="Articles, one JSON object a line."
        ),
    ],
    output_path: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="Where to write assignments.")
    ],
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            dir_okay=False,
            help="Clusterer state file: restored first when it exists, saved at the end.",
        ),
    ] = None,
) -> None:
    """Give every article of a JSONL file a story id (and the article it copies, if any).

    Input lines: {"id", "title", "text", "published_at"?, "source"?, "url"?, "language"?},
    processed in file order as a stream. Output lines: {"id", "story_id", "duplicate_of"}.
    Articles without published_at take the latest time seen so far. A story merged into
    another later in the file is reported as the one it went into. The output file appears
    only when every line was processed.
    """
    settings = settings_for().cluster
    try:
        if state is not None and state.exists():
            clusterer = StoryClusterer.load(state, settings)
        else:
            clusterer = StoryClusterer(settings)
    except SnapshotError as exc:
        fail(str(exc))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as target:
            written, merges = _cluster_file(clusterer, input_path, target)
        if merges:
            _resolve_merges(Path(temporary), merges)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, output_path)
    except (MalformedLine, UnicodeDecodeError) as exc:
        Path(temporary).unlink(missing_ok=True)
        fail(f"{input_path}: {exc}")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if state is not None:
        clusterer.save(state)
    console.print(f"{written} articles clustered into {output_path}", highlight=False)

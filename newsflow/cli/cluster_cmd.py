"""`newsflow cluster`: assign stories to a JSONL file of articles, as one stream."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, TextIO

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from newsflow.cli import output
from newsflow.cli.app import app, fail, settings_for
from newsflow.clustering import Merges, StoryClusterer
from newsflow.clustering.checkpoint import (
    Checkpointer,
    CheckpointPolicy,
    FileCheckpoints,
    restore,
    snapshots_of,
)
from newsflow.clustering.records import assignment_record, document_from_record
from newsflow.clustering.snapshot import SnapshotError
from newsflow.files import replacing
from newsflow.linking import LinkingUnavailable, LinkStateError, StoryLinker, open_linker
from newsflow.linking.sightings import follow_clusterer
from newsflow.linking.state import linker_state_path, save_link_state


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
        except (ValueError, RecursionError) as exc:
            # Legal JSON can still be refused: integers over Python's digit limit (ValueError),
            # nesting deeper than the recursion limit (RecursionError).
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(";")[0]
            raise MalformedLine(f"line {number}: not valid JSON ({reason})") from exc


def _cluster_file(
    clusterer: StoryClusterer, source: Path, target: IO[bytes], linker: StoryLinker | None
) -> Merges:
    """Stream the articles of `source` through `clusterer`, and `linker` when given, writing
    one assignment per line; returns the merges (and links, the linker's earlier ones too)."""
    merges = Merges(linker.merges.edges() if linker is not None else None)
    columns = (
        TextColumn("clustering"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with (
        source.open(encoding="utf-8-sig") as handle,
        output.progress(*columns) as progress,
    ):
        task = progress.add_task("cluster", total=source.stat().st_size)
        for number, record in _records(handle, progress, task):
            try:
                document = document_from_record(record)
            except ValueError as exc:
                raise MalformedLine(f"line {number}: {exc}") from exc
            assignment = clusterer.add(document)
            merges.record(assignment)
            if linker is not None:
                follow_clusterer(linker, merges, document, assignment)
            target.write(_line(assignment_record(assignment)))
    return merges


def _copy_resolved(draft: IO[bytes], target: IO[bytes], merges: Merges) -> int:
    """Copy the assignments of `draft` to `target`, each under the story its article is in at
    the end (as the store reports it); returns how many."""
    count = 0
    for line in draft:
        row = json.loads(line)
        row["story_id"] = merges.final(row["story_id"])
        target.write(_line(row))
        count += 1
    return count


def _line(record: dict[str, str | None]) -> bytes:
    return (json.dumps(record) + "\n").encode("utf-8")


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
            help="Clusterer state file: restored first when it exists, saved at the end "
            "(with cross_language, the linker's state too, in FILE.links).",
        ),
    ] = None,
) -> None:
    """Give every article of a JSONL file a story id (and the article it copies, if any).

    Input lines: {"id", "title", "text", "published_at"?, "source"?, "url"?, "language"?},
    processed in file order as a stream. Output lines: {"id", "story_id", "duplicate_of"}.
    Articles without published_at take the latest time seen so far. A story merged into
    another later in the file is reported as the one it went into; with `[cluster]
    cross_language` on, so is a story linked to one in another language. The output file
    appears only when every line was processed.
    """
    settings = settings_for().cluster
    stores = [] if state is None else [FileCheckpoints(state)]
    try:
        clusterer = restore(stores, settings)
    except SnapshotError as exc:
        fail(str(exc))
    link_state = None if state is None else linker_state_path(state)
    try:
        linker = open_linker(settings, link_state)
    except (LinkingUnavailable, LinkStateError) as exc:
        fail(str(exc))
    try:
        with (
            replacing(output_path) as target,
            tempfile.TemporaryFile(dir=output_path.parent) as draft,
        ):
            merges = _cluster_file(clusterer, input_path, draft, linker)
            draft.seek(0)
            written = _copy_resolved(draft, target, merges)
    except (MalformedLine, UnicodeDecodeError) as exc:
        fail(f"{input_path}: {exc}")
    if stores:
        Checkpointer(snapshots_of(clusterer), stores, CheckpointPolicy(settings)).write()
    if link_state is not None and linker is not None:
        save_link_state(link_state, linker)
    output.note(f"{written} articles clustered into {output_path}")

"""`newsflow replay`, `newsflow run` and `newsflow fetch`: the commands that bring news in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectors.feeds.lists import FeedList
from connectors.seeds import SeedError, load_seeds
from newsflow.cli import output
from newsflow.cli.app import (
    DataDirOption,
    JsonOption,
    app,
    fail,
    feed_list_from,
    settings_for,
    started_clusterer,
)
from newsflow.cli.show import print_stories
from newsflow.clustering.snapshot import SnapshotError
from newsflow.ingest import fetch_article
from newsflow.linking.state import restore_linker
from newsflow.outcomes import NOT_FAILURES, PollResult, Skip
from newsflow.pipeline import STAGES, Pipeline, link_state_path, open_fetcher, open_store
from newsflow.replay import ReplayMode
from newsflow.sources import SourceItem

T = TypeVar("T")
DEFAULT_SEEDS = Path("seeds")


class ProgressBar:
    """A `newsflow.ingest.Progress` shown as a transient bar on stderr."""

    def __init__(self, bar: Progress, description: str) -> None:
        self._bar = bar
        self._task = bar.add_task(description, total=0)

    def planned(self, items: int) -> None:
        self._bar.update(self._task, total=(self._bar.tasks[0].total or 0) + items)

    def finished(self, items: int) -> None:
        self._bar.advance(self._task, items)


def _with_progress(description: str, work: Callable[[ProgressBar], Coroutine[Any, Any, T]]) -> T:
    """Run `work(progress)` (a coroutine factory) under a progress bar."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with output.progress(*columns, TimeElapsedColumn()) as bar:
        return asyncio.run(work(ProgressBar(bar, description)))


def _print_skips(result: PollResult) -> None:
    for skip in result.run_report().skips:
        output.note(output.label("skipped", "yellow"), f" {skip}")


@app.command("replay")
def replay_command(
    folder: Annotated[
        Path, typer.Argument(help="Seeds folder with a manifest.json.")
    ] = DEFAULT_SEEDS,
    mode: Annotated[
        ReplayMode, typer.Option(help="direct: texts straight in; served: over loopback HTTP.")
    ] = ReplayMode.SERVED,
    data_dir: DataDirOption = None,
) -> None:
    """Replay the seeds fixture end to end (the `replay-seeds` Prefect flow) and show the stories."""
    settings = settings_for(data_dir)
    try:
        load_seeds(folder)  # a bad folder is a clear error, not a failed flow run
    except SeedError as exc:
        fail(str(exc))
    if STAGES["link"].runs(settings):
        # A missing model or a damaged link state is one error line (cli/errors), not a
        # failed flow run's traceback; loading the model twice costs a fraction of a second.
        restore_linker(settings.cluster, link_state_path(settings))
    from flows.replay_seeds import replay_seeds  # Prefect loads for this command only

    try:
        result = asyncio.run(replay_seeds(str(folder), mode, data_dir=str(settings.data_dir)))
    except SnapshotError as exc:
        fail(str(exc))
    _print_skips(result)
    output.note(
        f"replayed {len(result.published)} article(s) from {folder} ({mode}); "
        f"stages handled {result.handled}"
    )
    if not result.articles:
        fail("no article reached the store")
    store = open_store(settings)
    try:
        print_stories(store, result.stories, as_json=False)
    finally:
        store.close()


@app.command("run")
def run_command(
    feeds: Annotated[Path, typer.Option("--feeds", help="Feed list (YAML or OPML).")],
    once: Annotated[bool, typer.Option("--once", help="Poll every feed once, then exit.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Poll the feeds of a feed list, once or on each group's interval until interrupted."""
    settings = settings_for(data_dir)
    feed_list = feed_list_from(feeds)
    # Restored once (a bad state is refused before any work), then kept for every poll.
    with Pipeline(settings, started_clusterer(settings)) as pipeline:
        if once:
            result = _poll(pipeline, feed_list, list(feed_list.groups()))
            if failed := result.failed_feeds():
                fail(f"{len(failed)} of {len(feed_list.feeds)} feed(s) could not be read")
            return
        due = dict.fromkeys(feed_list.groups(), 0.0)
        try:
            while True:
                now = time.monotonic()
                ready = [group for group, at in due.items() if at <= now]
                if ready:
                    _poll(pipeline, feed_list, ready)
                    for group in ready:
                        due[group] = now + feed_list.interval_minutes(group) * 60
                time.sleep(max(0.0, min(due.values()) - time.monotonic()))
        except KeyboardInterrupt:
            output.note("stopped")


def _poll(pipeline: Pipeline, feed_list: FeedList, groups: list[str]) -> PollResult:
    """One stateful poll of `groups` through the one producer path, with a progress bar."""
    specs = [spec for group in groups for spec in feed_list.groups()[group]]
    result = _with_progress(
        f"polling {len(specs)} feed(s)",
        lambda progress: pipeline.poll(specs, stateful=True, progress=progress),
    )
    _print_skips(result)
    report = result.run_report()
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.reasons().items()))
    seen = sum(feed.seen_before for feed in result.feeds)
    failed = sum(skip.reason not in NOT_FAILURES for skip in report.skips)
    output.note(
        f"{report.articles} article(s) ingested, {seen} seen before; failed: {failed}"
        + (f"; skipped: {reasons}" if reasons else "")
    )
    return result


@app.command("fetch")
def fetch_command(
    urls: Annotated[list[str], typer.Argument(help="Article URLs to fetch and extract.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fetch and extract article URLs; print each article (nothing is stored)."""
    settings = settings_for(data_dir)

    async def work() -> list[Any]:
        async with open_fetcher(settings) as fetcher:
            return list(
                await asyncio.gather(*(fetch_article(fetcher, SourceItem(url=u)) for u in urls))
            )

    failures = 0
    for outcome in asyncio.run(work()):
        if isinstance(outcome, Skip):
            failures += 1
            output.error(str(outcome))
        elif as_json:
            output.json_line(outcome.model_dump(mode="json"))
        else:
            output.say(output.label(outcome.title, "bold"), f" — {outcome.source}\n{outcome.url}\n")
            output.say(outcome.text + "\n")
    if failures:
        raise typer.Exit(1)

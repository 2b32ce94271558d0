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
from connectors.feeds.poll import FeedPoller, poll_policy
from connectors.feeds.state import feed_state_turn
from connectors.http import Fetcher
from connectors.seeds import SeedError, load_seeds
from newsflow.cli import output
from newsflow.cli.app import (
    DataDirOption,
    JsonOption,
    app,
    fail,
    feed_list_from,
    restored_clusterer,
    settings_for,
)
from newsflow.cli.show import print_stories
from newsflow.config import Settings
from newsflow.ingest import fetch_article, ingest
from newsflow.outcomes import NOT_FAILURES, RunReport, Skip
from newsflow.pipeline import Pipeline
from newsflow.replay import ReplayMode
from newsflow.sources import SourceItem

T = TypeVar("T")
Callback = Callable[[int], None]
DEFAULT_SEEDS = Path("seeds")


def _progress() -> Progress:
    return output.progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _with_progress(
    description: str, work: Callable[[Callback, Callback], Coroutine[Any, Any, T]]
) -> T:
    """Run `work(on_total, on_done)` (a coroutine factory) under a progress bar."""
    with _progress() as bar:
        task = bar.add_task(description, total=0)
        coroutine = work(
            lambda n: bar.update(task, total=(bar.tasks[0].total or 0) + n),
            lambda n: bar.advance(task, n),
        )
        return asyncio.run(coroutine)


def _print_skips(report: RunReport) -> None:
    for skip in report.skips:
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
    restored_clusterer(settings)  # the flow restores it again; this refuses a bad state first
    from flows.replay_seeds import replay_seeds  # Prefect loads for this command only

    result = asyncio.run(replay_seeds(str(folder), mode, data_dir=str(settings.data_dir)))
    _print_skips(result.ingest)
    output.note(
        f"replayed {result.ingest.articles} article(s) from {folder} ({mode}); "
        f"stages handled {result.process.handled}"
    )
    if not result.articles:
        fail("no article reached the store")
    with Pipeline(settings) as pipeline:
        story_ids = dict.fromkeys(a.story_id for a in result.articles if a.story_id)
        stories = [s for s in pipeline.store.stories(limit=1000) if s.id in story_ids]
        print_stories(pipeline.store, stories, as_json=False)


@app.command("run")
def run_command(
    feeds: Annotated[Path, typer.Option("--feeds", help="Feed list (YAML or OPML).")],
    once: Annotated[bool, typer.Option("--once", help="Poll every feed once, then exit.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Poll the feeds of a feed list, once or on each group's interval until interrupted."""
    settings = settings_for(data_dir)
    feed_list = feed_list_from(feeds)
    restored_clusterer(settings)  # each poll restores it again; this refuses a bad state first
    if once:
        report = _poll(settings, feed_list, list(feed_list.groups()))
        failures = {s.url for s in report.skips if s.reason not in NOT_FAILURES}
        failed_sources = failures & {f.url for f in feed_list.feeds}
        if failed_sources:
            fail(f"{len(failed_sources)} of {len(feed_list.feeds)} feed(s) could not be read")
        return
    due = dict.fromkeys(feed_list.groups(), 0.0)
    try:
        while True:
            now = time.monotonic()
            ready = [group for group, at in due.items() if at <= now]
            if ready:
                _poll(settings, feed_list, ready)
                for group in ready:
                    due[group] = now + feed_list.interval_minutes(group) * 60
            time.sleep(max(0.0, min(due.values()) - time.monotonic()))
    except KeyboardInterrupt:
        output.note("stopped")


def _poll(settings: Settings, feed_list: FeedList, groups: list[str]) -> RunReport:
    specs = [spec for group in groups for spec in feed_list.groups()[group]]

    async def work(total: Callback, done: Callback) -> RunReport:
        # The feed state (seen entries, validators) is this run's alone, and committed only
        # once its articles went through the pipeline: a run that dies before re-reads the
        # same entries next time.
        async with feed_state_turn(settings.data_dir) as state, Fetcher(settings.fetch) as fetcher:
            report = await ingest(
                fetcher,
                feeds=specs,
                sink=pipeline.publish,
                concurrency=settings.fetch.concurrency,
                on_total=total,
                on_done=done,
                poller=FeedPoller(fetcher, state, poll_policy(settings.fetch)),
            )
            pipeline.process()
            state.commit()
            return report

    with Pipeline(settings) as pipeline:
        report = _with_progress(f"polling {len(specs)} feed(s)", work)
    _print_skips(report)
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.reasons().items()))
    failed = sum(skip.reason not in NOT_FAILURES for skip in report.skips)
    output.note(
        f"{report.articles} article(s) ingested; failed: {failed}"
        + (f"; skipped: {reasons}" if reasons else "")
    )
    return report


@app.command("fetch")
def fetch_command(
    urls: Annotated[list[str], typer.Argument(help="Article URLs to fetch and extract.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fetch and extract article URLs; print each article (nothing is stored)."""
    settings = settings_for(data_dir)

    async def work() -> list[Any]:
        async with Fetcher(settings.fetch) as fetcher:
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

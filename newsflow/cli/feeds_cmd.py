"""`newsflow feeds`: the polled feeds' health, OPML import/export, revive, discovery."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from connectors.feeds.discovery import discover_feeds
from connectors.feeds.lists import FeedListError, FeedSpec, export_opml, load_feed_list
from connectors.feeds.poll import poll_policy
from connectors.feeds.state import FeedRecord
from connectors.http import FetchError
from newsflow.cli import output
from newsflow.cli.app import DataDirOption, JsonOption, app, fail, settings_for
from newsflow.pipeline import open_feed_state, open_fetcher

feeds_app = typer.Typer(
    help="The feeds newsflow polls: health, OPML import/export, revive, discovery.",
    invoke_without_command=True,
)
app.add_typer(feeds_app, name="feeds")


def _status(record: FeedRecord) -> str:
    if record.dead:
        return "dead"
    if record.failures:
        return f"failing ({record.failures})"
    return "ok" if record.last_success_at else "new"


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


@feeds_app.callback()
def list_feeds(
    ctx: typer.Context, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """List the known feeds with their health and schedule (dead ones included)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_feed_state(settings_for(data_dir)) as state:
        records = state.feeds()
    if as_json:
        for record in records:
            output.json_line({**asdict(record), "status": _status(record)})
        return
    table = output.table("group", "status", "every", "next poll (UTC)", "last new", "last error")
    table.add_column("feed", overflow="fold")
    for record in records:
        output.row(
            table,
            record.feed_group,
            _status(record),
            f"{record.interval_s / 60:.0f} min",
            _when(record.next_poll_at),
            _when(record.last_new_at),
            record.last_error or "",
            record.url,
        )
    output.show(table)
    dead = sum(record.dead for record in records)
    output.say(f"{len(records)} feeds, {dead} dead")


@feeds_app.command("import")
def import_feeds(
    path: Annotated[Path, typer.Argument(help="OPML (.opml/.xml) or YAML (.yml/.yaml) file.")],
    data_dir: DataDirOption = None,
) -> None:
    """Add the feeds of an OPML or YAML feed list; feeds already known are left as they are."""
    settings = settings_for(data_dir)
    try:
        feed_list = load_feed_list(path)
    except FeedListError as exc:
        fail(f"{path}: {exc}")
    policy = poll_policy(settings.fetch)
    added = 0
    with open_feed_state(settings) as state:
        for group, feeds in feed_list.groups().items():
            interval = policy.clamp(feed_list.interval_minutes(group) * 60)
            added += state.add(feeds, interval)
    output.say(f"{added} feeds added, {len(feed_list.feeds) - added} already known")


@feeds_app.command("export")
def export_feeds(
    target: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the known feeds as OPML."""
    with open_feed_state(settings_for(data_dir)) as state:
        feeds = [FeedSpec(r.url, name=r.name, group=r.feed_group) for r in state.feeds()]
    document = export_opml(feeds)
    if target is None:
        output.raw(document)
    else:
        target.write_bytes(document)


@feeds_app.command("revive")
def revive_feed(
    url: Annotated[str, typer.Argument(help="The feed URL, as `newsflow feeds` shows it.")],
    data_dir: DataDirOption = None,
) -> None:
    """Clear a feed's failures and dead mark; it is polled again on the next run."""
    with open_feed_state(settings_for(data_dir)) as state:
        if not state.revive(url):
            fail(f"unknown feed {url} (see `newsflow feeds`)")
    output.say(f"revived {url}")


@feeds_app.command("discover")
def discover(
    url: Annotated[str, typer.Argument(help="A web page that links to its feeds.")],
    add: Annotated[bool, typer.Option("--add", help="Also add the feeds found.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Find the feeds a page announces (<link rel="alternate">)."""
    settings = settings_for(data_dir)

    async def fetch_page() -> list[str]:
        async with open_fetcher(settings) as fetcher:
            page = await fetcher.fetch(url, accept="html")
        return discover_feeds(page.content, page.final_url)

    try:
        found = asyncio.run(fetch_page())
    except FetchError as exc:
        fail(str(exc))
    for feed_url in found:
        output.say(feed_url)
    if not found:
        fail(f"no feed links found on {url}")
    if add:
        with open_feed_state(settings) as state:
            added = state.add((FeedSpec(f) for f in found), poll_policy(settings.fetch).floor_s)
        output.say(f"{added} feeds added")

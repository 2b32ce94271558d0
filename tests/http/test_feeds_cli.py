"""`newsflow feeds`: import, list, export, revive, on a real feed-state database."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from connectors.feeds.lists import parse_opml
from connectors.feeds.state import FeedState
from newsflow.cli import app

OPML = b"""<?xml version="1.0"?><opml version="2.0"><body>
<outline text="World"><outline text="Wire" xmlUrl="https://wire.example/rss"/></outline>
<outline text="Solo" xmlUrl="https://solo.example/atom"/></body></opml>"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_import_list_export_revive(tmp_path: Path) -> None:
    source = tmp_path / "feeds.opml"
    source.write_bytes(OPML)
    data = ["--data-dir", str(tmp_path / "data")]
    assert invoke("feeds", "import", str(source), *data) == (0, "2 feeds added, 0 already known\n")
    assert invoke("feeds", "import", str(source), *data)[1].startswith("0 feeds added")

    with FeedState.in_data_dir(tmp_path / "data") as state:
        record = state.get("https://wire.example/rss")
        assert record is not None
        state.save(replace(record, failures=10, dead=True, last_error="http-status: HTTP 410"))

    code, listing = invoke("feeds", "--json", *data)
    rows = {row["url"]: row for row in map(json.loads, listing.splitlines())}
    assert code == 0
    assert rows["https://wire.example/rss"]["status"] == "dead"
    assert rows["https://wire.example/rss"]["feed_group"] == "World"
    assert rows["https://solo.example/atom"]["status"] == "new"

    exported = tmp_path / "out.opml"
    assert invoke("feeds", "export", "-o", str(exported), *data)[0] == 0
    assert {(f.url, f.group) for f in parse_opml(exported.read_bytes()).feeds} == {
        ("https://wire.example/rss", "World"),
        ("https://solo.example/atom", "default"),
    }

    assert invoke("feeds", "revive", "https://wire.example/rss", *data)[0] == 0
    code, listing = invoke("feeds", "--json", *data)
    rows = {row["url"]: row for row in map(json.loads, listing.splitlines())}
    assert rows["https://wire.example/rss"]["status"] == "new"
    assert invoke("feeds", "revive", "https://unknown.example/", *data)[0] == 1


def test_import_of_a_broken_list_fails_cleanly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.opml"
    broken.write_bytes(b"<opml><body>")
    code, _ = invoke("feeds", "import", str(broken), "--data-dir", str(tmp_path))
    assert code == 1

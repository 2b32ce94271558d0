"""The `newsflow` command line, run in-process against real loopback servers."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trafilatura
from typer.testing import CliRunner

from connectors.static_site import Site, serve
from newsflow.cli import app
from tests.url_list_site import url_list_feeds

LOOPBACK_ALLOWED = {
    "NEWSFLOW_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
    "NEWSFLOW_FETCH_PER_HOST_RATE": "0",
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def json_lines(text: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus_site(corpus_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """Three corpus pages, a JSON file and a non-feed, served on loopback."""
    site = Site()
    names = sorted(p.name for p in corpus_dir.glob("*.html"))[10:13]
    for name in names:
        site.add(f"/{name}", "text/html; charset=utf-8", (corpus_dir / name).read_bytes())
    site.add("/data.json", "application/json", b'{"not": "html"}')
    site.add("/feed.xml", "application/rss+xml", b"<html><body>not a feed</body></html>")
    with serve(site) as base_url:
        yield base_url, names


def test_every_command_has_help(runner: CliRunner) -> None:
    main = invoke(runner, "--help")
    assert main.exit_code == 0
    for command in ("replay", "run", "fetch", "search", "stories", "config"):
        assert command in main.stdout
        result = invoke(runner, command, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout, command


@pytest.mark.integration
def test_replay_then_stories_and_search(runner: CliRunner, seeds_dir: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for _ in range(2):  # replaying twice stores nothing twice
        replayed = invoke(runner, "replay", str(seeds_dir), "--data-dir", data)
        assert replayed.exit_code == 0, replayed.output
    [story] = json_lines(invoke(runner, "stories", "--json", "--data-dir", data).stdout)
    assert story["article_count"] == 2
    assert len(story["articles"]) == 2
    assert {a["source"] for a in story["articles"]} == {"Example Wire", "Example Daily"}
    [hit_group] = json_lines(
        invoke(runner, "search", "QwQ-32B", "--json", "--data-dir", data).stdout
    )
    assert hit_group["story_id"] == story["id"]
    assert {h["id"] for h in hit_group["hits"]} == {a["id"] for a in story["articles"]}
    assert all("<em>" in h["highlights"][0] for h in hit_group["hits"])
    human = invoke(runner, "stories", "--data-dir", data)
    assert "Alibaba" in human.stdout and "Example Daily" in human.stdout


@pytest.mark.integration
def test_fetch_extracts_real_pages_completely(
    runner: CliRunner, corpus_site: tuple[str, list[str]], corpus_dir: Path
) -> None:
    base_url, names = corpus_site
    urls = [f"{base_url}/{name}" for name in names]
    result = invoke(runner, "fetch", *urls, "--json", env=LOOPBACK_ALLOWED)
    assert result.exit_code == 0, result.output
    articles = json_lines(result.stdout)
    assert [a["url"] for a in articles] == urls
    for name, article in zip(names, articles, strict=True):
        reference = trafilatura.extract((corpus_dir / name).read_bytes()) or ""
        ours = article["text"] + "\n" + article["comments"]
        assert all(line in ours for line in reference.splitlines()), name


@pytest.mark.integration
def test_fetch_refuses_loopback_without_the_allow_list(
    runner: CliRunner, corpus_site: tuple[str, list[str]]
) -> None:
    base_url, names = corpus_site
    result = invoke(runner, "fetch", f"{base_url}/{names[0]}")
    assert result.exit_code == 1
    assert "blocked-address" in result.stderr


@pytest.mark.integration
def test_fetch_reports_non_html_and_dead_hosts(
    runner: CliRunner, corpus_site: tuple[str, list[str]]
) -> None:
    base_url, _ = corpus_site
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/x"
    result = invoke(runner, "fetch", f"{base_url}/data.json", dead, env=LOOPBACK_ALLOWED)
    assert result.exit_code == 1
    assert "not-html" in result.stderr and "connect-error" in result.stderr


def test_run_refuses_a_feed_list_that_does_not_parse(runner: CliRunner, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: [")
    result = invoke(runner, "run", "--once", "--feeds", str(feeds), "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "not valid YAML" in result.stderr


@pytest.mark.integration
def test_run_fails_visibly_on_a_feed_that_is_not_xml(
    runner: CliRunner, corpus_site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base_url, _ = corpus_site
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {base_url}/feed.xml\n")
    result = invoke(
        runner,
        "run",
        "--once",
        "--feeds",
        str(feeds),
        "--data-dir",
        str(tmp_path),
        env=LOOPBACK_ALLOWED,
    )
    assert result.exit_code == 1
    assert "could not be read" in result.stderr
    assert "not-a-feed" in result.stderr or "feed-parse-error" in result.stderr


@pytest.mark.integration
def test_run_skips_articles_already_in_the_store(
    runner: CliRunner, corpus_dir: Path, tmp_path: Path
) -> None:
    # A URL list is read plainly (no feed state), so only the store check can skip its items.
    with url_list_feeds(corpus_dir, slice(10, 13), tmp_path) as feeds:
        args = ("run", "--once", "--feeds", str(feeds), "--data-dir", str(tmp_path / "data"))
        first = invoke(runner, *args, env=LOOPBACK_ALLOWED)
        second = invoke(runner, *args, env=LOOPBACK_ALLOWED)
    assert first.exit_code == second.exit_code == 0
    assert "3 article(s) ingested, 0 seen before" in first.stderr
    assert "0 article(s) ingested, 3 seen before" in second.stderr


def test_config_masks_secrets(runner: CliRunner) -> None:
    result = invoke(runner, "config", env={"NEWSFLOW_ES_PASSWORD": "hunter2-secret"})
    assert result.exit_code == 0
    assert "hunter2-secret" not in result.stdout
    assert json.loads(result.stdout)["settings"]["search"]["es_password"] == "**********"


def test_replay_refuses_a_clusterer_state_it_cannot_restore(
    runner: CliRunner, seeds_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "cluster-state").write_bytes(gzip.compress(b'{"format": 1, "stories": []}'))

    result = invoke(runner, "replay", str(seeds_dir), "--data-dir", str(tmp_path))

    assert result.exit_code == 1
    assert "format 5 or older" in result.stderr and "delete the file" in result.stderr
    assert not (tmp_path / "newsflow.db").exists()  # refused before any work started

"""Hostile input through the `newsflow` command line, against the loopback server.

Titles, queries, feed names and redirect targets written by strangers must come out
verbatim (never read as Rich markup), must not stop a run, and must not leak a secret;
user errors are one `error:` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner, Result

from newsflow.cli import app
from tests.http.server import MisbehavingServer, running

pytestmark = pytest.mark.integration

HOSTILE_TITLE = "Alpha [red]beta [/x] gamma [/] :smile: [bold"
HOSTILE_NAME = "[bold]Wire[/]"
PARAGRAPH = (
    "The council met on Tuesday and agreed, after a long debate, to rebuild the old bridge. " * 3
)
LOOPBACK = {"NEWSFLOW_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8", "NEWSFLOW_FETCH_PER_HOST_RATE": "0"}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env={**LOOPBACK, **(env or {})})
    # A traceback is never an answer: an exception escaping the command fails the test.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def json_lines(text: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def html(title: str, words: str = PARAGRAPH) -> bytes:
    escaped = title.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f"<html><head><title>{escaped}</title></head><body><article><h1>{escaped}</h1>"
        f"<p>{words}</p></article></body></html>"
    ).encode()


def rss(*links: str) -> bytes:
    items = "".join(
        f"<item><guid>{i}</guid><link>{link}</link><title>entry {i}</title></item>"
        for i, link in enumerate(link.replace("&", "&amp;") for link in links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def serve_page(web: MisbehavingServer, path: str, body: bytes) -> str:
    web.extra_routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body)
    return web.base_url + path


def serve_feed(web: MisbehavingServer, path: str, *links: str) -> str:
    web.extra_routes[path] = (200, {"Content-Type": "application/rss+xml"}, rss(*links))
    return web.base_url + path


def write_feed_list(path: Path, *feeds: tuple[str, str]) -> Path:
    lines = ["feeds:"] + [f"  - {{url: '{url}', name: '{name}'}}" for url, name in feeds]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def hostile_store(web: MisbehavingServer, tmp_path: Path) -> tuple[str, str]:
    """A data dir holding one article whose title and outlet name are markup-like."""
    article = serve_page(web, "/news/hostile", html(HOSTILE_TITLE))
    feed = serve_feed(web, "/feeds/hostile", article)
    feeds = write_feed_list(tmp_path / "feeds.yml", (feed, HOSTILE_NAME))
    data = str(tmp_path / "data")
    result = invoke("run", "--once", "--feeds", str(feeds), "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert "1 article(s) ingested" in result.stderr
    return data, article


def test_hostile_titles_come_out_verbatim_in_json(hostile_store: tuple[str, str]) -> None:
    data, article_url = hostile_store
    [story] = json_lines(invoke("stories", "--json", "--data-dir", data).stdout)
    [member] = story["articles"]
    assert member["title"] == HOSTILE_TITLE
    assert member["source"] == HOSTILE_NAME
    [group] = json_lines(invoke("search", "Alpha", "--json", "--data-dir", data).stdout)
    assert group["hits"][0]["title"] == HOSTILE_TITLE
    fetched = invoke("fetch", article_url, "--json")
    assert fetched.exit_code == 0, fetched.output
    assert json_lines(fetched.stdout)[0]["title"] == HOSTILE_TITLE


def test_hostile_titles_come_out_verbatim_for_humans(hostile_store: tuple[str, str]) -> None:
    data, article_url = hostile_store
    for args in (("stories",), ("search", "Alpha"), ("fetch", article_url)):
        result = invoke(*args, "--data-dir", data)
        assert result.exit_code == 0, (args, result.output)
        assert HOSTILE_TITLE in result.stdout.replace("\n", ""), (args, result.stdout)
    assert HOSTILE_NAME in invoke("stories", "--data-dir", data).stdout


def test_hostile_query_and_feed_state_print_verbatim(hostile_store: tuple[str, str]) -> None:
    data, _ = hostile_store
    for query in ("[/qqq]", "[blink]qqq[/]", "[/]"):
        result = invoke("search", query, "--data-dir", data)
        assert result.exit_code == 1 and f"nothing matches '{query}'" in result.stderr
        assert invoke("search", query, "--json", "--data-dir", data).exit_code == 0
    listed = invoke("feeds", "--json", "--data-dir", data)
    assert listed.exit_code == 0 and json_lines(listed.stdout)[0]["status"] == "ok"
    assert invoke("feeds", "--data-dir", data).exit_code == 0


@pytest.mark.parametrize(
    "target", ["http://xn--/", "http://127.0.0.1:70000/", "http://[::1", "http://a..b/"]
)
def test_a_bad_redirect_is_one_skip_and_the_healthy_feeds_are_stored(
    web: MisbehavingServer, tmp_path: Path, target: str
) -> None:
    bad_redirect = f"{web.base_url}/redirect?to={quote(target, safe='')}"
    good = serve_feed(web, "/feeds/good", serve_page(web, "/news/good", html("Good news")))
    # One feed whose article redirects to the target, one that itself redirects there.
    mixed = serve_feed(
        web, "/feeds/mixed", bad_redirect, serve_page(web, "/news/fine", html("Fine news"))
    )
    feeds = write_feed_list(
        tmp_path / "feeds.yml", (good, "Good"), (mixed, "Mixed"), (bad_redirect, "Broken")
    )
    data = str(tmp_path / "data")
    result = invoke("run", "--once", "--feeds", str(feeds), "--data-dir", data)
    assert result.exit_code == 1  # one feed could not be read: said so, and in the status
    assert "1 of 3 feed(s) could not be read" in result.stderr
    assert "2 article(s) ingested" in result.stderr
    assert "failed: 2" in result.stderr  # the broken feed and the redirecting article
    stories = json_lines(invoke("stories", "--json", "--data-dir", data).stdout)
    titles = sorted(a["title"] for story in stories for a in story["articles"])
    assert titles == ["Fine news", "Good news"]


def test_fetch_of_unparseable_urls_is_an_error_line(tmp_path: Path) -> None:
    result = invoke("fetch", "http://[::1", "http://u:secret@xn--/", "http://h:70000/")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: invalid-url") for line in lines)
    assert "secret" not in result.stderr


def test_config_masks_user_info_in_every_url() -> None:
    env = {
        "NEWSFLOW_ES_URL": "http://elastic:es-secret@127.0.0.1:9200",
        "NEWSFLOW_OPENSEARCH_URL": "https://admin:os-secret@127.0.0.1:9201",
        "NEWSFLOW_KIBANA_URL": "http://kb:kb-secret@127.0.0.1:5601",
        "NEWSFLOW_FETCH_CONTACT_URL": "https://bot:contact-secret@example.org/about",
        "NEWSFLOW_KAFKA_SASL_PASSWORD": "sasl-secret",
    }
    result = CliRunner().invoke(app, ["config"], env=env)
    assert result.exit_code == 0, result.output
    assert "secret" not in result.stdout
    search = json.loads(result.stdout)["settings"]["search"]
    assert search["es_url"] == "http://***@127.0.0.1:9200"
    assert search["kibana_url"] == "http://***@127.0.0.1:5601"


def test_basic_credentials_echoed_by_a_server_are_masked(tmp_path: Path) -> None:
    """A search server that echoes our request headers (Authorization too) in its errors."""
    token = base64.b64encode(b"elastic:pa55word").decode()
    with running() as echo:
        echo.echo_headers_status = 400
        result = invoke(
            "search",
            "anything",
            env={
                "NEWSFLOW_ES_URL": echo.base_url,
                "NEWSFLOW_ES_USERNAME": "elastic",
                "NEWSFLOW_ES_PASSWORD": "pa55word",
            },
        )
    assert echo.recorder.headers[0]["authorization"] == f"Basic {token}"
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Basic ***" in result.stderr
    assert token not in result.output and "pa55word" not in result.output


def test_a_corrupt_or_missing_store_is_an_error_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "newsflow.db").write_bytes(b"not a database at all, just bytes" * 100)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    missing = tmp_path / "mistyped"
    for data_dir, message in (
        (corrupt, "cannot be used"),
        (a_file, "error: "),
        (missing, "no newsflow store in"),
    ):
        for command in (("stories",), ("search", "bridge")):
            result = invoke(*command, "--data-dir", str(data_dir))
            assert result.exit_code == 1, (command, data_dir, result.output)
            assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not missing.exists()  # reading never creates an empty store
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(corrupt / "newsflow.db").execute("select 1 from sqlite_master")


def test_unreachable_servers_are_an_error_line(tmp_path: Path) -> None:
    with running() as closed:
        port = closed.server_address[1]
    feeds = write_feed_list(tmp_path / "feeds.yml", (f"http://127.0.0.1:{port}/feed", "X"))
    kafka = invoke(
        "run",
        "--once",
        "--feeds",
        str(feeds),
        "--data-dir",
        str(tmp_path / "data"),
        env={
            "NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
            "NEWSFLOW_KAFKA_CONNECT_TIMEOUT_MS": "500",
        },
    )
    assert kafka.exit_code == 1 and kafka.stderr.startswith("error: no Kafka broker reachable")
    search = invoke(
        "search",
        "x",
        env={"NEWSFLOW_ES_URL": f"http://127.0.0.1:{port}", "NEWSFLOW_SEARCH_RETRY_MAX_S": "0.5"},
    )
    assert search.exit_code == 1
    assert search.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"feeds: [http://x.example]\ngroups: {default: 5}", "groups.default"),
        (b"feeds: [http://x.example]\ngroups: [1, 2]", "groups: expected a mapping"),
        (b"feeds:\n  - {url: 'http://x.example', name: 1843}", "feeds[0].name"),
    ],
)
def test_a_wrong_typed_feed_list_is_one_error_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    feeds = tmp_path / "feeds.yml"
    feeds.write_bytes(content)
    result = invoke("run", "--once", "--feeds", str(feeds), "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"id": "a", "title": "t", "text": "x", "n": ' + "9" * 5000 + "}",
            "line 2: not valid JSON",
        ),
        ("[" * 100_000 + "]" * 100_000, "line 2: not valid JSON"),
        ('{"id": "a", "title": "t", "text": "x", "published_at": "[/x]"}', "line 2: "),
    ],
)
def test_cluster_input_extreme_lines_are_an_error_with_the_line_number(
    tmp_path: Path, line: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    first = {"id": "ok", "title": "Bridge", "text": PARAGRAPH}
    source.write_text(json.dumps(first) + "\n" + line + "\n", encoding="utf-8")
    result = invoke("cluster", "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()
    if "[/x]" in line:
        assert "[/x]" in result.stderr  # the bad value is quoted verbatim


def test_extraction_gets_only_the_budgeted_head_of_a_huge_page(web: MisbehavingServer) -> None:
    filler = "".join(f"<p>Filler paragraph number {i} about nothing.</p>" for i in range(3000))
    url = serve_page(web, "/news/huge", html("Huge page", PARAGRAPH + "</p>" + filler + "<p>"))
    texts = {}
    for budget in ("100", "100000"):
        result = invoke("fetch", url, "--json", env={"NEWSFLOW_FETCH_EXTRACT_MAX_TAGS": budget})
        assert result.exit_code == 0, result.output
        texts[budget] = json_lines(result.stdout)[0]["text"]
    assert "rebuild the old bridge" in texts["100"]
    assert "Filler paragraph number 2999" not in texts["100"]
    assert "Filler paragraph number 2999" in texts["100000"]  # the page itself has it

"""`newsflow web` as a real process over a replayed data dir, read by headless Chromium.

The seeds are replayed with `newsflow replay` (a subprocess, as a user runs it), one story
whose strings are all hostile is added to the same store, then `newsflow web` serves it on a
free loopback port. Screenshots of the three pages are kept in tests/artifacts/web/
(git-ignored) for a reviewer to look at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from connectors.sqlite_store import SqliteStore
from flows.healthcheck import http_ok
from tests.chromium import browse, live_page, needs_chromium, png_size
from tests.flows.prefect_server import free_loopback_port, wait_until
from tests.search.test_store import make_story
from tests.web import sample

pytestmark = [pytest.mark.integration, needs_chromium]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
SEED_OUTLETS = {"Example Wire", "Example Daily"}


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    story: dict[str, Any]  # the seeds' story, as /api/stories lists it
    profile: Path
    data: Path

    def dom(self, path: str) -> Any:
        """The page's DOM after Chromium ran it (its scripts included)."""
        return lxml.html.fromstring(browse(self.profile, "--dump-dom", self.url + path))

    def screenshot(self, path: str, name: str) -> bytes:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        target.unlink(missing_ok=True)
        browse(self.profile, f"--screenshot={target}", self.url + path)
        return target.read_bytes()


def _api(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def served(
    seeds_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("web")
    data = tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        # replay runs its flow on an ephemeral Prefect server; a busy machine starts it slowly
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        PYTHONPATH=str(repo_root),
    )
    newsflow = [sys.executable, "-m", "newsflow"]
    replay = subprocess.run(
        [*newsflow, "replay", str(seeds_dir), "--data-dir", str(data)],
        env=env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    store = SqliteStore.in_data_dir(data)
    store.upsert_articles([sample.HOSTILE])
    store.upsert_stories([sample.HOSTILE_STORY_RECORD])
    store.close()

    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [*newsflow, "web", "--port", str(port), "--data-dir", str(data)],
        env=env,
        cwd=repo_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: True if http_ok(f"{url}/api/health") else None, timeout_s=60)
        listed = _api(f"{url}/api/stories")["stories"]
        [story] = [s for s in listed if s["id"] != sample.HOSTILE_STORY]
        yield Served(url, port, story, tmp / "chromium-profile", data)
    finally:
        web.terminate()
        _, errors = web.communicate(timeout=30)
    assert "Traceback" not in errors, errors[-3000:]


def _assert_screenshot(data: bytes) -> None:
    assert png_size(data) == (1440, 900)
    assert len(data) > 20_000  # a rendered page, not a blank canvas


def test_web_listens_on_loopback_only_by_default(served: Served) -> None:
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A"  # LISTEN
    ]
    ours = [address for address in listening if int(address.split(":")[1], 16) == served.port]
    assert ours == ["0100007F:" + f"{served.port:04X}"]  # 127.0.0.1, not 0.0.0.0


def test_river_shows_the_seeds_story_with_both_outlets(served: Served) -> None:
    assert set(served.story["sources"]) == SEED_OUTLETS
    doc = served.dom("/")
    [item] = doc.xpath(f"//li[@class='story'][h2/a/@href='/stories/{served.story['id']}']")
    assert item.xpath("h2")[0].text_content() == served.story["headline"]
    meta = " ".join(item.xpath("p[@class='meta']")[0].text_content().split())
    assert "2 articles" in meta
    assert all(outlet in meta for outlet in SEED_OUTLETS)
    _assert_screenshot(served.screenshot("/", "river"))


def test_story_page_shows_both_articles_in_time_order(served: Served) -> None:
    doc = served.dom(f"/stories/{served.story['id']}")
    assert doc.xpath("//h1")[0].text_content() == served.story["headline"]
    entries = doc.xpath("//ol[@class='timeline']/li")
    assert [e.get("id") for e in entries] == [f"a-{a['id']}" for a in served.story["articles"]]
    times = [datetime.fromisoformat(e.xpath(".//time/@datetime")[0]) for e in entries]
    assert len(times) == 2 and times[0] < times[1]
    outlets = [e.xpath(".//p[@class='outlet']/text()")[0].strip() for e in entries]
    assert set(outlets) == SEED_OUTLETS
    languages = [e.xpath(".//p[@class='outlet']/span[@class='lang']")[0].text for e in entries]
    assert languages == ["en", "en"]
    links = [e.xpath(".//h3/a/@href")[0] for e in entries]
    assert links == [a["url"] for a in served.story["articles"]]
    _assert_screenshot(served.screenshot(f"/stories/{served.story['id']}", "story"))


def test_search_for_the_model_name_shows_both_articles(served: Served) -> None:
    doc = served.dom("/search?q=QwQ-32B")
    [result] = doc.xpath("//li[@class='result']")
    assert result.xpath("h2/a/@href") == [f"/stories/{served.story['id']}"]
    hits = result.xpath(".//li[@class='hit']")
    assert {h.xpath(".//h3/a/@href")[0] for h in hits} == {
        a["url"] for a in served.story["articles"]
    }
    assert all("QwQ-32B" in h.xpath(".//mark")[0].text_content() for h in hits)
    facets = [" ".join(li.text_content().split()) for li in doc.xpath("//aside//li")]
    assert {"Example Daily 1", "Example Wire 1"} <= set(facets)
    _assert_screenshot(served.screenshot("/search?q=QwQ-32B", "search"))


@pytest.mark.parametrize(
    ("path", "title"),
    [
        (f"/stories/{sample.HOSTILE_STORY}", f"{sample.HOSTILE_TITLE} · newsflow"),
        ("/", "Stories · newsflow"),
        ("/search?q=rail+strike", "rail strike · Search · newsflow"),
    ],
)
def test_html_and_script_in_titles_render_as_text_and_never_run(
    served: Served, path: str, title: str
) -> None:
    doc = served.dom(path)
    # The hostile script would have set document.title to 'pwned' had it run.
    assert doc.xpath("//title")[0].text_content() == title
    shown = [" ".join(e.text_content().split()) for e in doc.xpath("//h1 | //h2 | //h3")]
    assert " ".join(sample.HOSTILE_TITLE.split()) in shown
    assert doc.xpath("//img | //b | //i | //*[@onerror]") == []
    assert all(s.get("src") == "/static/refresh.js" for s in doc.xpath("//script"))
    assert not [h for h in doc.xpath("//a/@href") if h.lower().startswith("javascript")]


def test_river_refreshes_itself_when_a_new_story_arrives(served: Served, tmp_path: Path) -> None:
    """Runs last: it adds a story to the served store."""
    late = sample.article(
        7, "Late story arrives", "A late story arrives.", story="dddd00000000000000000007", hours=30
    )
    with live_page(tmp_path / "live-profile", served.url + "/") as evaluate:
        headlines = "[...document.querySelectorAll('li.story h2')].map(h => h.textContent)"
        shown = wait_until(lambda: evaluate(headlines) or None, timeout_s=60)
        assert late.title not in shown
        store = SqliteStore.in_data_dir(served.data)
        store.upsert_articles([late])
        store.upsert_stories([make_story(late.story_id or "", [late])])
        store.close()
        # The page polls every 15 s and reloads itself at the top of the river.
        refreshed = wait_until(
            lambda: evaluate(headlines) if late.title in (evaluate(headlines) or []) else None,
            timeout_s=90,
        )
    assert refreshed[0] == late.title

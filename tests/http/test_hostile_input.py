"""Malformed and random bytes into the feed reader and the extractor: never a crash.

Every input ends as items/an article or as a `Skip` carrying a reason code.
"""

from __future__ import annotations

import asyncio
import json
import string
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.feeds.body import read_feed
from connectors.feeds.lists import FeedListError, load_feed_list, parse_yaml
from connectors.http import Fetcher, FetchError
from connectors.http.headers import Accept
from connectors.http.page import Page
from connectors.sqlite_store import SqliteStore
from newsflow.cli import output
from newsflow.cli.show import print_results, print_stories
from newsflow.config import FetchSettings
from newsflow.extract import PageInput, extract_article
from newsflow.ingest import ingest
from newsflow.outcomes import FeedOutcome, PollResult, RunReport, Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.store import SearchQuery
from schemas import Article
from tests.http.server import MisbehavingServer
from tests.test_sqlite_store import article as stored_article
from tests.test_sqlite_store import story as stored_story

FEED_URL = "https://feeds.example/rss"
RSS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
ITEM = b"<item><title>A</title><link>https://news.example/a</link><guid>a</guid></item>"
HTML_HEAD = b"<html><head><title>T</title></head><body><article><p>"

fragments = st.sampled_from(
    [
        RSS_HEAD,
        ITEM,
        b"</channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom">',
        b"<entry><link href='x'/></entry>",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
        b'{"url": 5}',
        b"<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
        b"&x;",
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">',
        b"<url><loc>/a</loc><news:news><news:title>t</news:title></news:news></url>",
        b"\xef\xbb\xbf",
        b"\x00\xff\xfe",
        HTML_HEAD,
        "Grüße – ünïcödé".encode("utf-16"),
        b"</p></article></body></html>",
    ]
)
documents = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.one_of(fragments, st.binary(max_size=64)), max_size=12).map(b"".join),
)
charsets = st.one_of(
    st.none(), st.sampled_from(["utf-8", "windows-1252", "shift_jis", "utf-16", "no-such-charset"])
)
fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(documents)
def test_feed_reader_never_crashes(content: bytes) -> None:
    result = read_feed(content, FEED_URL)
    if isinstance(result, Skip):
        assert result.reason is SkipReason.FEED_PARSE_ERROR and result.detail
    else:
        assert all(item.url and item.feed_url for item in result)
        assert not any("root:" in (item.title or "") for item in result)  # no /etc/passwd


@fuzz
@given(documents, charsets)
def test_extractor_never_crashes(content: bytes, charset: str | None) -> None:
    page = PageInput(
        content=content,
        final_url="https://news.example/a",
        fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
        charset=charset,
    )
    result = extract_article(page, SourceItem(url="https://news.example/a"))
    if isinstance(result, Skip):
        assert result.reason in {SkipReason.NO_CONTENT, SkipReason.EXTRACT_ERROR}
    else:
        assert isinstance(result, Article) and result.text


# --- Random URLs, redirect targets, titles and feed-list values (issue 16) ------------------
#
# Every generated host is refused before any lookup (an IP literal outside the allow list, or
# a name IDNA refuses), or is 127.0.0.1: the tests send traffic to loopback only.

_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=6)
_BAD_LABEL = st.sampled_from(["", "xn--", "xn--a", "xn--ls8h", "a" * 64, "xn--zz-"])
unusable_hosts = st.builds(lambda a, bad, b: f"{a}.{bad}.{b}", _LABEL, _BAD_LABEL, _LABEL)
literal_hosts = st.sampled_from(
    ["127.0.0.1", "10.0.0.1", "[::1]", "169.254.169.254", "[fe80::1%25eth0]", "0.0.0.0"]
)
ports = st.one_of(st.none(), st.integers(min_value=-1, max_value=70_000).map(str), st.just("x"))
paths = st.text(max_size=20).map(lambda s: "/" + s.replace("/", "").replace("\\", ""))
absolute_targets = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{'' if port is None else ':' + port}{path}",
    st.sampled_from(["http", "https", "HTTP", "ftp", "javascript"]),
    st.one_of(literal_hosts, unusable_hosts),
    ports,
    paths,
)
literal_targets = st.sampled_from(
    [
        "http://[::1",
        "http://[",
        "http://:80/",
        "http://@/",
        "http://u:p@[::1/",
        "//[::1",
        "http://xn--/",
    ]
)
redirect_targets = st.one_of(absolute_targets, literal_targets, paths)
property_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def fetch_settings(settings: FetchSettings) -> FetchSettings:
    """The loopback-only settings of the HTTP tests (`settings` is hypothesis' here)."""
    return settings


def _redirect(web: MisbehavingServer, target: str, n: int = 0) -> str:
    return f"{web.base_url}/redirect?to={quote(target, safe='')}&n={n}"


@property_settings
@given(target=redirect_targets, accept=st.sampled_from(["html", "feed", "any"]))
def test_fetcher_turns_any_redirect_target_into_a_page_or_a_reason(
    web: MisbehavingServer, fetch_settings: FetchSettings, target: str, accept: Accept
) -> None:
    async def main() -> Page | FetchError:
        async with Fetcher(fetch_settings) as fetcher:
            try:
                return await fetcher.fetch(_redirect(web, target), accept=accept)
            except FetchError as exc:
                return exc

    outcome = asyncio.run(main())
    if isinstance(outcome, FetchError):
        assert outcome.reason in set(SkipReason) and str(outcome)
        assert "u:p@" not in str(outcome)
    else:
        assert urlsplit(outcome.final_url).hostname == "127.0.0.1"


@settings(
    max_examples=15, deadline=None, suppress_health_check=property_settings.suppress_health_check
)
@given(targets=st.lists(redirect_targets, min_size=1, max_size=4))
def test_every_item_of_a_run_ends_stored_or_skipped_with_a_reason(
    web: MisbehavingServer, fetch_settings: FetchSettings, targets: list[str]
) -> None:
    web.extra_routes["/news/healthy"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        HTML_HEAD + b"Healthy. " + b"The council agreed to rebuild the bridge. " * 4 + b"</p>",
    )
    items = [SourceItem(url=_redirect(web, t, n)) for n, t in enumerate(targets)]
    items.append(SourceItem(url=f"{web.base_url}/news/healthy"))
    stored: list[Article] = []

    async def main() -> RunReport:
        async with Fetcher(fetch_settings) as fetcher:
            outcomes = await ingest(
                [],
                fetcher=fetcher,
                publish=stored.append,
                direct=FeedOutcome("items"),
                direct_items=items,
            )
        return PollResult(outcomes, published=[a.id for a in stored]).run_report()

    report = asyncio.run(main())
    assert report.articles == len(stored) and any("Healthy" in a.text for a in stored)
    assert report.articles + len(report.skips) == len(items)
    assert all(skip.reason in set(SkipReason) and str(skip) for skip in report.skips)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
feed_entries = st.one_of(
    yaml_values,
    st.fixed_dictionaries(
        {"url": st.one_of(st.text(max_size=20), yaml_values)},
        optional={"name": yaml_values, "group": yaml_values, "kind": yaml_values},
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    feeds=st.one_of(st.lists(feed_entries, max_size=4), yaml_values),
    groups=st.one_of(
        yaml_values,
        st.dictionaries(
            st.text(max_size=8), st.dictionaries(st.just("interval_minutes"), yaml_values)
        ),
    ),
)
def test_feed_list_loader_accepts_or_names_the_problem(feeds: object, groups: object) -> None:
    document = yaml.safe_dump({"feeds": feeds, "groups": groups}).encode()
    try:
        feed_list = parse_yaml(document)
    except FeedListError as exc:
        assert str(exc)
        return
    for spec in feed_list.feeds:  # what is accepted is well typed, all the way down
        assert isinstance(spec.url, str) and spec.url and isinstance(spec.group, str)
        assert spec.name is None or isinstance(spec.name, str)
    assert all(isinstance(m, float) and m > 0 for m in feed_list.intervals.values())


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=512), st.sampled_from([".yml", ".opml"]))
def test_feed_list_loader_survives_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("lists") / f"feeds{suffix}"
    path.write_bytes(data)
    try:
        load_feed_list(path)
    except FeedListError as exc:
        assert str(exc)


titles = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(["[/x]", "[/]", "[red]", "[bold", ":smile:", "\x1b[2J", "\x9b", "é", " "])
    ).map("".join),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=titles, source=titles.filter(lambda s: s.strip()), headline=titles)
def test_cli_output_paths_print_any_title_verbatim(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    title: str,
    source: str,
    headline: str,
) -> None:
    store = SqliteStore.in_data_dir(tmp_path_factory.mktemp("store"))
    try:
        member = stored_article(
            "s", title + " bridge", "The bridge will be rebuilt.", story="5151515151", source=source
        )
        store.upsert_articles([member])
        story = stored_story("5151515151", 1, headline=headline, sources=[member.source])
        store.upsert_stories([story])
        stories = store.stories(limit=5)
        results = store.search(SearchQuery("bridge"))
        capsys.readouterr()
        print_stories(store, stories, as_json=True)
        print_results(results, as_json=True)
        story_line, result_line = capsys.readouterr().out.splitlines()
        assert json.loads(story_line)["articles"][0]["title"] == member.title
        assert json.loads(story_line)["headline"] == story.headline
        assert json.loads(result_line)["hits"][0]["source"] == member.source
        print_stories(store, stories, as_json=False)
        print_results(results, as_json=False)
        human = capsys.readouterr().out
        assert "\x1b" not in human and "\x9b" not in human
        expected = output.plain(f"• {member.title} — {member.source}").plain
        assert " ".join(expected.split()) in " ".join(human.split())  # tabs are expanded
    finally:
        store.close()

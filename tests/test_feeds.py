from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.feeds.lists import FeedListError, load_feed_list, parse_opml, parse_yaml
from connectors.feeds.parse import FeedError, parse_feed
from connectors.feeds.urllist import parse_url_list

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
FEED_URL = "https://feeds.example.com/feed"


def parse_fixture(name: str) -> list:  # type: ignore[type-arg]
    return parse_feed((FEEDS / name).read_bytes(), FEED_URL)


def test_rss_091_in_latin_1() -> None:
    items = parse_fixture("rss091.xml")
    assert [i.title for i in items] == [
        "Stadtrat beschließt neuen Radweg",
        "Müllabfuhr verschiebt Termine",
    ]
    assert items[0].url == "https://zeitung.example.de/lokales/radweg.html"
    assert items[0].source == "Beispiel Zeitung"


def test_rss_10_rdf_with_dublin_core_dates() -> None:
    items = parse_fixture("rss10.xml")
    assert [i.url for i in items] == [
        "https://wire.example.org/a/1?utm_source=rss",
        "https://wire.example.org/a/2",
    ]
    assert items[1].published_at == datetime(2025, 3, 6, 11, 30, tzinfo=UTC)


def test_rss_20_resolves_relative_links_and_reads_item_sources() -> None:
    items = parse_fixture("rss20.xml")
    assert len(items) == 2, "the item without a link has nothing to fetch"
    assert items[0].url == "https://feeds.example.com/tech/qwq-32b"
    assert items[0].guid == "daily-123"
    assert items[0].published_at == datetime(2025, 3, 6, 11, 5, tzinfo=UTC)
    assert items[0].source == "Example Daily"
    assert items[1].source == "Other Outlet"
    assert all(i.feed_url == FEED_URL for i in items)


def test_atom_prefers_published_over_updated() -> None:
    items = parse_fixture("atom.xml")
    assert items[0].published_at == datetime(2025, 3, 6, 9, 0, tzinfo=UTC)
    assert items[1].published_at == datetime(2025, 3, 6, 11, 0, tzinfo=UTC)
    assert items[0].guid == "tag:atom.example.com,2025:1"


def test_json_feed() -> None:
    items = parse_fixture("feed.json")
    assert [i.url for i in items] == [
        "https://json.example.org/posts/1",
        "https://json.example.org/posts/2",
    ]
    assert items[0].title == "Floods close mountain pass"
    assert items[0].source == "Example JSON Feed"
    assert items[0].published_at == datetime(2025, 3, 6, 7, 15, tzinfo=UTC)


def test_malformed_feed_keeps_what_can_be_read() -> None:
    items = parse_fixture("malformed.xml")
    assert [i.url for i in items] == ["https://broken.example.com/one"]


def test_configured_outlet_name_applies_when_entries_have_none() -> None:
    items = parse_feed((FEEDS / "atom.xml").read_bytes(), FEED_URL, source="My Name")
    assert {i.source for i in items} == {"My Name"}


@pytest.mark.parametrize(
    "content",
    [
        (FEEDS / "not-a-feed.html").read_bytes(),
        b"",
        b"\x00\x01\x02 binary garbage",
        b'{"json": "but not a feed"}',
        b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}',
        b"<rss><channel><title>unterminated",
    ],
)
def test_things_that_are_not_feeds_raise_a_clear_error(content: bytes) -> None:
    with pytest.raises(FeedError, match="not a"):
        parse_feed(content, FEED_URL)


def test_url_list_skips_comments_and_blanks_and_keeps_fragments() -> None:
    text = "# my list\nhttps://a.example/1\n\n  https://b.example/2#frag  \n"
    items = parse_url_list(text, list_url="https://lists.example/l.txt", source="Lists")
    assert [i.url for i in items] == ["https://a.example/1", "https://b.example/2#frag"]
    assert {i.source for i in items} == {"Lists"}


def test_yaml_feed_list_with_groups() -> None:
    feed_list = parse_yaml(
        b"""
feeds:
  - https://a.example/rss
  - {url: https://b.example/atom, name: B, group: fast}
  - {url: https://c.example/urls.txt, kind: urls}
groups:
  fast: {interval_minutes: 2}
"""
    )
    assert [f.url for f in feed_list.feeds] == [
        "https://a.example/rss",
        "https://b.example/atom",
        "https://c.example/urls.txt",
    ]
    assert feed_list.feeds[2].kind == "urls"
    assert feed_list.interval_minutes("fast") == 2
    assert feed_list.interval_minutes("default") == 15
    assert list(feed_list.groups()) == ["default", "fast"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"feeds: [", "not valid YAML"),
        (b"just a string", "'feeds' list"),
        (b"feeds:\n  - {name: no url}", "feeds\\[0\\]"),
        (b"feeds:\n  - {url: https://x.example, kind: podcast}", "kind"),
        (b"feeds: []\ngroups:\n  g: {interval_minutes: -1}", "interval_minutes"),
        # Wrong types anywhere: one FeedListError naming the key, never a crash later.
        (
            b"feeds: [https://x.example]\ngroups: {default: 5}",
            "^groups.default: expected a mapping",
        ),
        (b"feeds: [https://x.example]\ngroups: [1, 2]", "^groups: expected a mapping"),
        (b"feeds:\n  - {url: https://x.example, name: 1843}", '^feeds\\[0\\].name: .*"1843"'),
        (b"feeds:\n  - {url: https://x.example, group: [a]}", "^feeds\\[0\\].group: "),
        (b"feeds:\n  - {url: 5}", "^feeds\\[0\\].url: "),
        (b"feeds:\n  - {url: '  '}", "^feeds\\[0\\]: 'url' is missing"),
        (b"feeds:\n  - {url: https://x.example, nmae: X}", "unknown key 'nmae'"),
        (b"feeds: [https://x.example]\ngroups: {g: {interval_minutes: true}}", "positive"),
        (b"feeds: [https://x.example]\ngroups: {g: {interval_minutes: .inf}}", "finite"),
        (
            b"feeds: [https://x.example]\ngroups: {3: {interval_minutes: 5}}",
            "^groups: expected text",
        ),
        (b"feeds: [2001-02-30]", "not valid YAML"),  # a date PyYAML cannot build
        (b"feeds: [x]\nfeed: [y]", "unknown key 'feed'"),
    ],
)
def test_bad_yaml_feed_lists(content: bytes, message: str) -> None:
    with pytest.raises(FeedListError, match=message):
        parse_yaml(content)


def test_opml_groups_come_from_enclosing_outlines() -> None:
    feed_list = parse_opml(
        b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="Tech">
    <outline type="rss" text="Wire" xmlUrl="https://wire.example/rss"/>
  </outline>
  <outline type="rss" title="Loose" xmlUrl="https://loose.example/feed"/>
  <outline text="no url here"/>
</body></opml>"""
    )
    assert [(f.url, f.name, f.group) for f in feed_list.feeds] == [
        ("https://wire.example/rss", "Wire", "Tech"),
        ("https://loose.example/feed", "Loose", "default"),
    ]


def test_opml_refuses_entities_and_garbage() -> None:
    billion_laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<opml><body><outline xmlUrl="https://x.example/&lol2;"/></body></opml>"""
    with pytest.raises(FeedListError, match="DOCTYPE"):
        parse_opml(billion_laughs)
    with pytest.raises(FeedListError):
        parse_opml(b"<html>not opml</html>")
    with pytest.raises(FeedListError):
        parse_opml(b"<<<")


def test_load_feed_list_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedListError, match="cannot read"):
        load_feed_list(tmp_path / "absent.yaml")

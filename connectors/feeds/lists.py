"""Feed lists: which sources to poll, read from YAML or OPML files.

YAML::

    feeds:
      - url: https://example.com/rss.xml
        name: Example Wire        # optional, the outlet name
        group: tech               # optional, polled on the group's interval
      - url: https://example.org/latest-urls.txt
        kind: urls                # a plain list of article URLs, one per line
    groups:
      tech: {interval_minutes: 10}

OPML: every `<outline>` with an `xmlUrl`; the text of an enclosing outline becomes the group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from lxml import etree

DEFAULT_GROUP = "default"
DEFAULT_INTERVAL_MINUTES = 15.0


class FeedListError(ValueError):
    """A feed list that cannot be read."""


@dataclass(frozen=True)
class FeedSpec:
    """One source to poll."""

    url: str
    name: str | None = None
    group: str = DEFAULT_GROUP
    kind: Literal["feed", "urls"] = "feed"


@dataclass(frozen=True)
class FeedList:
    """The sources to poll and each group's polling interval."""

    feeds: list[FeedSpec]
    intervals: dict[str, float] = field(default_factory=dict)

    def interval_minutes(self, group: str) -> float:
        return self.intervals.get(group, DEFAULT_INTERVAL_MINUTES)

    def groups(self) -> dict[str, list[FeedSpec]]:
        """Feeds by group, in file order."""
        grouped: dict[str, list[FeedSpec]] = {}
        for feed in self.feeds:
            grouped.setdefault(feed.group, []).append(feed)
        return grouped


def load_feed_list(path: Path) -> FeedList:
    """Read a YAML (`.yml`/`.yaml`) or OPML (`.opml`/`.xml`) feed list."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedListError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in {".opml", ".xml"}:
        return parse_opml(data)
    return parse_yaml(data)


def parse_yaml(data: bytes) -> FeedList:
    """Parse the YAML feed-list format described in this module's docstring.

    Every value is checked for its type; a wrong one raises `FeedListError` naming the key
    (`feeds[2].name`, `groups.world.interval_minutes`), so a bad list is refused before any
    feed is polled rather than failing mid-run.
    """
    try:
        doc = yaml.safe_load(data)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: a bad date
        raise FeedListError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("feeds"), list):
        raise FeedListError("expected a mapping with a 'feeds' list")
    unknown = sorted(str(key) for key in doc if key not in _TOP_KEYS)
    if unknown:
        raise FeedListError(f"unknown key {unknown[0]!r} (expected {', '.join(_TOP_KEYS)})")
    feeds = [_feed_from_yaml(f"feeds[{index}]", item) for index, item in enumerate(doc["feeds"])]
    return FeedList(feeds=feeds, intervals=_intervals(doc.get("groups")))


_TOP_KEYS = ("feeds", "groups")
_FEED_KEYS = ("url", "name", "group", "kind")
_KINDS = ("feed", "urls")


def _feed_from_yaml(where: str, item: object) -> FeedSpec:
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        raise FeedListError(f"{where}: expected a URL or a mapping with 'url', {_got(item)}")
    unknown = sorted(str(key) for key in item if key not in _FEED_KEYS)
    if unknown:
        raise FeedListError(
            f"{where}: unknown key {unknown[0]!r} (expected {', '.join(_FEED_KEYS)})"
        )
    url = _text(f"{where}.url", item.get("url"))
    if url is None or not url.strip():
        raise FeedListError(f"{where}: 'url' is missing or empty")
    kind = item.get("kind", "feed")
    if kind not in _KINDS:
        raise FeedListError(f"{where}.kind: must be 'feed' or 'urls', not {kind!r}")
    return FeedSpec(
        url=url.strip(),
        name=_text(f"{where}.name", item.get("name")),
        group=_text(f"{where}.group", item.get("group")) or DEFAULT_GROUP,
        kind=kind,
    )


def _intervals(groups: object) -> dict[str, float]:
    if groups is None:
        return {}
    if not isinstance(groups, dict):
        raise FeedListError(
            f"groups: expected a mapping like {{world: {{interval_minutes: 10}}}}, {_got(groups)}"
        )
    intervals: dict[str, float] = {}
    for group, options in groups.items():
        name = _text("groups", group)
        where = f"groups.{name}"
        if not isinstance(options, dict):
            raise FeedListError(
                f"{where}: expected a mapping like {{interval_minutes: 10}}, {_got(options)}"
            )
        unknown = sorted(str(key) for key in options if key != "interval_minutes")
        if unknown:
            raise FeedListError(f"{where}: unknown key {unknown[0]!r} (expected interval_minutes)")
        minutes = options.get("interval_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not minutes > 0:
            raise FeedListError(f"{where}.interval_minutes: must be a positive number")
        if minutes == float("inf"):
            raise FeedListError(f"{where}.interval_minutes: must be finite")
        intervals[name or DEFAULT_GROUP] = float(minutes)
    return intervals


def _text(where: str, value: object) -> str | None:
    """`value` if it is text (or absent); a number or list where text belongs is an error."""
    if value is None or isinstance(value, str):
        return value
    hint = f' (quote it: "{value}")' if isinstance(value, int | float) else ""
    raise FeedListError(f"{where}: expected text, {_got(value)}{hint}")


def _got(value: object) -> str:
    kinds = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a mapping",
    }
    return f"got {kinds.get(type(value), type(value).__name__)}"


_OPML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def parse_opml(data: bytes) -> FeedList:
    """Parse an OPML subscription list; nested outlines give their text as the group."""
    try:
        root = etree.fromstring(data, parser=_OPML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise FeedListError(f"not valid OPML: {exc}") from exc
    if root is None or root.tag != "opml":
        raise FeedListError("not an OPML document (no <opml> root)")
    if root.getroottree().docinfo.internalDTD is not None:
        raise FeedListError("OPML with a DOCTYPE is refused (entity declarations are unsafe)")
    feeds: list[FeedSpec] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        parent = outline.getparent()
        group = parent.get("text") or parent.get("title") if parent.tag == "outline" else None
        feeds.append(
            FeedSpec(
                url=url.strip(),
                name=outline.get("title") or outline.get("text"),
                group=group or DEFAULT_GROUP,
            )
        )
    return FeedList(feeds=feeds)


def export_opml(feeds: list[FeedSpec], title: str = "newsflow feeds") -> bytes:
    """An OPML 2.0 subscription list; feeds outside the default group nest under their group.

    `parse_opml` reads it back to the same feeds (URL, name and group).
    """
    root = etree.Element("opml", version="2.0")
    etree.SubElement(etree.SubElement(root, "head"), "title").text = title
    body = etree.SubElement(root, "body")
    groups: dict[str, etree._Element] = {}
    for feed in feeds:
        parent = body
        if feed.group != DEFAULT_GROUP:
            if feed.group not in groups:
                groups[feed.group] = etree.SubElement(
                    body, "outline", text=feed.group, title=feed.group
                )
            parent = groups[feed.group]
        name = feed.name or feed.url
        kind = "rss" if feed.kind == "feed" else "link"
        etree.SubElement(parent, "outline", type=kind, text=name, title=name, xmlUrl=feed.url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

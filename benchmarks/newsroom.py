"""A simulated newsroom on loopback: N outlets whose feeds grow over time, some misbehaving.

Every outlet is a host of its own, `127.1.x.y`, all served by one asyncio process on one
port, so the fetcher's per-host politeness applies per outlet as it would on the web. Each
outlet has an RSS, Atom or JSON feed (by its number) listing its latest items, and article
pages built from the shared same-story dataset (three outlets write up each event, so
stories form) and the shared HTML corpus (single-outlet stories). Feeds honour conditional
GET (ETag and Last-Modified).

Everything that happens is a pure function of the schedule (`plan`) and the clock
(`Newsroom.respond`), so tests check it without a server. Some items are broken on purpose
(`Item.expect`: a page that is gone, a page without text) and some outlets misbehave for a
window (`OutletFault`: 5xx, timeouts, slow bodies, redirects, malformed feeds). The serving
process logs each item to a JSON-lines file the moment it first appears in its feed.
"""

from __future__ import annotations

import asyncio
import html
import json
import multiprocessing
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

from benchmarks.cluster_data import CORPUS, SAME_STORY
from benchmarks.loopback import read_request

FEED_WINDOW = 30  # items a feed lists (newest first)
FAULT_KINDS = ("5xx", "timeout", "slow", "redirect", "malformed")
ITEM_FAULTS = {"gone": "http-status", "empty": "no-content"}  # broken item -> expected skip
HANG_S = 30.0  # a "timeout" outlet holds the request this long, then closes
SLOW_CHUNKS, SLOW_PAUSE_S = 8, 0.4
_REASONS = {200: "OK", 301: "Moved Permanently", 304: "Not Modified", 404: "Not Found"}
_FORMATS = ("rss", "atom", "json")
_FEED_PATHS = {"rss": "/feed.xml", "atom": "/atom.xml", "json": "/feed.json"}


def outlet_host(number: int) -> str:
    """The loopback address of outlet `number` (up to 50,000 outlets)."""
    return f"127.1.{number // 200}.{number % 200 + 1}"


def outlet_of(host: str) -> int | None:
    """The outlet number of a `127.1.x.y` address, or None."""
    parts = host.split(":")[0].split(".")
    if len(parts) != 4 or parts[:2] != ["127", "1"] or not all(p.isdigit() for p in parts):
        return None
    return int(parts[2]) * 200 + int(parts[3]) - 1


def feed_format(number: int) -> str:
    return _FORMATS[number % len(_FORMATS)]


def feed_url(number: int, port: int) -> str:
    return f"http://{outlet_host(number)}:{port}{_FEED_PATHS[feed_format(number)]}"


@dataclass(frozen=True)
class Item:
    """One article an outlet publishes `at_s` seconds into the run."""

    outlet: int
    seq: int
    at_s: float
    title: str
    text: str
    story: str  # events sharing a story label are the same story
    corpus_file: str | None = None  # a real page from the shared corpus instead of `text`
    expect: str | None = None  # a key of ITEM_FAULTS when broken on purpose

    @property
    def path(self) -> str:
        return f"/a/{self.seq}.html"

    def url(self, port: int) -> str:
        return f"http://{outlet_host(self.outlet)}:{port}{self.path}"


@dataclass(frozen=True)
class OutletFault:
    """Outlet `outlet` misbehaves in way `kind` from `start_s` for `duration_s`."""

    outlet: int
    kind: str
    start_s: float
    duration_s: float

    def active(self, now_s: float) -> bool:
        return self.start_s <= now_s < self.start_s + self.duration_s


@dataclass(frozen=True)
class Plan:
    """The whole schedule of a run: what each outlet publishes when, and when it misbehaves."""

    outlets: int
    minutes: float
    items: list[Item]
    faults: list[OutletFault] = field(default_factory=list)


def _story_events(limit: int) -> list[list[dict[str, str]]]:
    """Same-story rows grouped by label, in file order (three outlets' takes per event)."""
    groups: dict[str, list[dict[str, str]]] = {}
    with (SAME_STORY / "allsides_train.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            groups.setdefault(row["label"], []).append(row)
            if len(groups) > limit:
                break
    return [rows for rows in list(groups.values())[:limit] if len(rows) >= 2]


def _corpus_files() -> list[str]:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return sorted(entry["file"] for entry in manifest)


def plan(
    outlets: int,
    minutes: float,
    *,
    seed: int = 18,
    publish_share: float = 0.85,
    fault_share: float = 0.12,
    broken_share: float = 0.04,
) -> Plan:
    """A deterministic schedule: events spread over the first `publish_share` of the run.

    Each outlet gets a rate (log-uniform, a few items an hour to two a minute) that decides
    how many of the events it covers. About `fault_share` of the outlets misbehave once,
    in the middle of the run, and `broken_share` of the items are broken on purpose.
    """
    rng = random.Random(seed)
    span_s = minutes * 60 * publish_share
    weights = [10 ** rng.uniform(-1.3, 0.3) for _ in range(outlets)]  # items per minute
    total = max(1, int(sum(weights) * span_s / 60))
    events = _story_events(total // 3 + 1)
    files = _corpus_files()
    rng.shuffle(files)
    counts = dict.fromkeys(range(outlets), 0)
    items: list[Item] = []
    multi = 0
    for n in range(total):
        at_s = round(span_s * n / total + rng.uniform(0, 5), 2)
        if n % 3 == 2 and files:  # a third of the items: a real page, its own story
            name = files[n % len(files)]
            outlet = rng.choices(range(outlets), weights)[0]
            items.append(_item(rng, outlet, counts, at_s, "", "", f"page-{n}", name, broken_share))
            continue
        if multi >= len(events):
            continue
        rows = events[multi]
        multi += 1
        chosen = _distinct(rng, outlets, weights, len(rows))
        for row, outlet in zip(rows, chosen, strict=False):
            delay = rng.uniform(0, 60)  # the other outlets follow within a minute
            items.append(
                _item(
                    rng,
                    outlet,
                    counts,
                    at_s + delay,
                    row["title"],
                    row["text"],
                    row["label"],
                    None,
                    broken_share,
                )
            )
    faults = [
        OutletFault(
            outlet,
            FAULT_KINDS[i % len(FAULT_KINDS)],
            round(minutes * 60 * rng.uniform(0.2, 0.6), 1),
            round(rng.uniform(30, 90), 1),
        )
        for i, outlet in enumerate(rng.sample(range(outlets), max(1, int(outlets * fault_share))))
    ]
    items.sort(key=lambda item: item.at_s)
    return Plan(outlets, minutes, items, faults)


def _distinct(rng: random.Random, outlets: int, weights: list[float], k: int) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < min(k, outlets):
        outlet = rng.choices(range(outlets), weights)[0]
        if outlet not in chosen:
            chosen.append(outlet)
    return chosen


def _item(
    rng: random.Random,
    outlet: int,
    counts: dict[int, int],
    at_s: float,
    title: str,
    text: str,
    story: str,
    corpus_file: str | None,
    broken_share: float,
) -> Item:
    seq = counts[outlet]
    counts[outlet] += 1
    expect = rng.choice(sorted(ITEM_FAULTS)) if rng.random() < broken_share else None
    return Item(outlet, seq, at_s, title, text, story, corpus_file, expect)


# --- answering requests (pure: the clock comes in as `now_s`) --------------------------------


@dataclass(frozen=True)
class Reply:
    """What to send: status, headers, body, and how (`hang_s` before, `chunks` paced)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    hang_s: float = 0.0
    chunk_pause_s: float = 0.0


def http_date(epoch_s: float) -> str:
    return formatdate(epoch_s, usegmt=True)


class Newsroom:
    """Answers requests for every outlet of `plan`, as the web would at `now_s`."""

    def __init__(self, plan_: Plan, port: int, started_at: float) -> None:
        self.plan = plan_
        self.port = port
        self.started_at = started_at  # epoch seconds of now_s == 0
        self.by_outlet: dict[int, list[Item]] = {}
        self.pages = {(item.outlet, item.path): item for item in plan_.items}
        for item in plan_.items:
            self.by_outlet.setdefault(item.outlet, []).append(item)
        self.faults: dict[int, list[OutletFault]] = {}
        for fault in plan_.faults:
            self.faults.setdefault(fault.outlet, []).append(fault)

    def fault(self, outlet: int, now_s: float) -> str | None:
        """The way `outlet` misbehaves at `now_s`, if it does."""
        return next((f.kind for f in self.faults.get(outlet, []) if f.active(now_s)), None)

    def visible(self, outlet: int, now_s: float) -> list[Item]:
        """The items `outlet` has published by `now_s`, oldest first."""
        return [item for item in self.by_outlet.get(outlet, []) if item.at_s <= now_s]

    def respond(self, host: str, path: str, headers: dict[str, str], now_s: float) -> Reply:
        """The reply to GET `path` on `host` (lower-case request `headers`) at `now_s`."""
        outlet = outlet_of(host)
        if outlet is None or outlet >= self.plan.outlets:
            return Reply(404, {"Content-Type": "text/plain"}, b"no such outlet")
        if path == "/robots.txt":
            return Reply(200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n")
        fault = self.fault(outlet, now_s)
        if fault == "5xx":
            return Reply(503, {"Content-Type": "text/plain", "Retry-After": "5"}, b"busy")
        if fault == "timeout":
            return Reply(504, {"Content-Type": "text/plain"}, b"", hang_s=HANG_S)
        moved = path.startswith("/moved/")
        if fault == "redirect" and not moved:
            return Reply(301, {"Location": f"/moved{path}"}, b"")
        reply = self._content(
            outlet, path.removeprefix("/moved") if moved else path, headers, now_s
        )
        if fault == "slow":
            return Reply(reply.status, reply.headers, reply.body, chunk_pause_s=SLOW_PAUSE_S)
        if (
            fault == "malformed"
            and reply.status == 200
            and path.endswith(_FEED_PATHS[feed_format(outlet)])
        ):
            body = reply.body[: len(reply.body) // 2]  # cut off mid-document
            return Reply(200, {**reply.headers, "ETag": '"broken"'}, body)
        return reply

    def _content(self, outlet: int, path: str, headers: dict[str, str], now_s: float) -> Reply:
        if path == _FEED_PATHS[feed_format(outlet)]:
            return self._feed(outlet, headers, now_s)
        if path.startswith("/a/") and path.endswith(".html"):
            item = self.pages.get((outlet, path))
            if item is not None and item.at_s <= now_s:
                return self._page(item)
        return Reply(404, {"Content-Type": "text/plain"}, b"not found")

    def _feed(self, outlet: int, headers: dict[str, str], now_s: float) -> Reply:
        items = self.visible(outlet, now_s)
        etag = f'"{outlet}-{len(items)}"'
        modified = http_date(self.started_at + (items[-1].at_s if items else 0.0))
        validators = {"ETag": etag, "Last-Modified": modified}
        if not_modified(headers, etag, self.started_at + (items[-1].at_s if items else 0.0)):
            return Reply(304, validators)
        kind = feed_format(outlet)
        body = render_feed(kind, outlet, items[-FEED_WINDOW:][::-1], self.port, self.started_at)
        media = {"rss": "application/rss+xml", "atom": "application/atom+xml"}.get(
            kind, "application/feed+json"
        )
        return Reply(200, {"Content-Type": f"{media}; charset=utf-8", **validators}, body)

    def _page(self, item: Item) -> Reply:
        if item.expect == "gone":
            return Reply(404, {"Content-Type": "text/html"}, b"<html><body>Gone</body></html>")
        if item.corpus_file is not None and item.expect is None:
            body = (CORPUS / "html" / item.corpus_file).read_bytes()
            return Reply(200, {"Content-Type": "text/html"}, body)
        return Reply(
            200, {"Content-Type": "text/html; charset=utf-8"}, render_page(item, self.port)
        )


def not_modified(headers: dict[str, str], etag: str, modified_epoch_s: float) -> bool:
    """Conditional GET: If-None-Match wins; else If-Modified-Since at or after the change."""
    if "if-none-match" in headers:
        return etag in [tag.strip() for tag in headers["if-none-match"].split(",")]
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= int(modified_epoch_s)
        except (TypeError, ValueError):
            return False
    return False


def _title(item: Item) -> str:
    return item.title or f"Report {item.outlet}-{item.seq}"


def render_feed(kind: str, outlet: int, items: list[Item], port: int, started_at: float) -> bytes:
    """Outlet `outlet`'s feed in format `kind` (rss, atom, json) listing `items`."""
    name = f"Outlet {outlet}"
    home = f"http://{outlet_host(outlet)}:{port}/"
    if kind == "json":
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": name,
            "home_page_url": home,
            "items": [
                {
                    "id": item.url(port),
                    "url": item.url(port),
                    "title": _title(item),
                    "date_published": _iso(started_at + item.at_s),
                }
                for item in items
            ],
        }
        return json.dumps(doc).encode()
    esc = html.escape
    if kind == "atom":
        entries = "".join(
            f"<entry><id>{esc(item.url(port))}</id><title>{esc(_title(item))}</title>"
            f'<link href="{esc(item.url(port))}"/><updated>{_iso(started_at + item.at_s)}</updated>'
            "</entry>"
            for item in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{name}</title><id>{home}</id><updated>{_iso(time.time())}</updated>"
            f"{entries}</feed>"
        ).encode()
    entries = "".join(
        f"<item><guid>{esc(item.url(port))}</guid><title>{esc(_title(item))}</title>"
        f"<link>{esc(item.url(port))}</link><pubDate>{http_date(started_at + item.at_s)}</pubDate>"
        "</item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>{home}</link>{entries}</channel></rss>"
    ).encode()


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def render_page(item: Item, port: int) -> bytes:
    """An article page: headline and text, the outlet's chrome, a canonical link to itself."""
    esc = html.escape
    if item.expect == "empty":
        paragraphs = "<p>Subscribe to read.</p>"
    else:
        # The dataset gives an article's first sentences; the page repeats them as its body
        # (a wire-style summary) so that the text is long enough to count as an article.
        paragraphs = f"<p>{esc(item.text)}</p><p>{esc(item.text)}</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(_title(item))}'
        f'</title><link rel="canonical" href="{esc(item.url(port))}"></head><body>'
        f"<nav><a href='/'>Outlet {item.outlet}</a> | World | Business</nav>"
        f"<article><h1>{esc(_title(item))}</h1>{paragraphs}</article>"
        "<footer>Copyright the outlet.</footer></body></html>"
    ).encode()


# --- the serving process ----------------------------------------------------------------------


def publication_record(item: Item, port: int, appeared_at: float) -> dict[str, object]:
    """One line of the newsroom's log: which item appeared where, and when (epoch seconds)."""
    return {
        "url": item.url(port),
        "feed": feed_url(item.outlet, port),
        "outlet": item.outlet,
        "story": item.story,
        "expect": ITEM_FAULTS.get(item.expect or ""),
        "appeared_at": appeared_at,
    }


@dataclass
class Shared:
    """What the serving process and the harness share: the clock's start and a count.

    Until `start` is set (epoch seconds; 0 = not yet) the outlets publish nothing; `polled`
    counts the outlets whose feed was requested at least once, so the harness can start
    the clock once the pipeline polls every feed.
    """

    start: Any  # multiprocessing.Value("d")
    polled: Any  # multiprocessing.Value("i")

    def now_s(self) -> float:
        started = float(self.start.value)
        return time.time() - started if started else -1.0


async def _serve_connection(
    room: Newsroom,
    shared: Shared,
    seen: set[int],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    try:
        while True:
            path, headers = await read_request(reader)
            host = headers.get("host", writer.get_extra_info("sockname")[0])
            outlet = outlet_of(host)
            if outlet is not None and outlet not in seen and path.startswith(("/feed", "/atom")):
                seen.add(outlet)
                shared.polled.value = len(seen)
            reply = room.respond(host, path, headers, shared.now_s())
            if reply.hang_s:
                await asyncio.sleep(reply.hang_s)
                return
            lines_out = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
            lines_out += [f"{k}: {v}" for k, v in reply.headers.items()]
            lines_out.append(f"Content-Length: {len(reply.body)}")
            writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1"))
            if reply.chunk_pause_s:
                step = max(1, len(reply.body) // SLOW_CHUNKS)
                for start in range(0, len(reply.body), step):
                    writer.write(reply.body[start : start + step])
                    await writer.drain()
                    await asyncio.sleep(reply.chunk_pause_s)
            else:
                writer.write(reply.body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def _log_appearances(room: Newsroom, shared: Shared, log: Path, until_s: float) -> None:
    """Append each item to `log` as soon as its time comes (it is then in its feed)."""
    pending = list(room.plan.items)  # sorted by at_s
    with log.open("a", encoding="utf-8") as sink:
        while True:
            now_s = shared.now_s()
            if now_s >= 0:
                room.started_at = float(shared.start.value)
            while pending and now_s >= 0 and pending[0].at_s <= now_s:
                item = pending.pop(0)
                record = publication_record(item, room.port, room.started_at + item.at_s)
                sink.write(json.dumps(record) + "\n")
            sink.flush()
            if now_s > until_s:
                return
            await asyncio.sleep(0.2)


def _run(plan_: Plan, port: int, shared: Shared, log: Path, lifetime_s: float) -> None:
    async def main() -> None:
        room = Newsroom(plan_, port, started_at=0.0)
        seen: set[int] = set()
        hosts = [outlet_host(n) for n in range(plan_.outlets)]
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(room, shared, seen, r, w),
            host=hosts,
            port=port,
            backlog=512,
        )
        async with server:
            await _log_appearances(room, shared, log, lifetime_s)

    asyncio.run(main())


def free_port(host: str = "127.1.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Served:
    """The newsroom serving from its own process: start its clock, watch the polling."""

    def __init__(self, plan_: Plan, port: int, shared: Shared) -> None:
        self.plan = plan_
        self.port = port
        self.shared = shared

    @property
    def started_at(self) -> float:
        """Epoch seconds of the publishing clock's zero (0 until `start`)."""
        return float(self.shared.start.value)

    def feeds_polled(self) -> int:
        return int(self.shared.polled.value)

    def start(self) -> float:
        """Start publishing now: items appear `at_s` seconds from this moment."""
        self.shared.start.value = time.time()
        return self.started_at


@contextmanager
def serving(plan_: Plan, log: Path, lifetime_s: float = 7200.0) -> Iterator[Served]:
    """Serve `plan_` from a child process; it publishes once `Served.start` is called."""
    port = free_port()
    context = multiprocessing.get_context("fork")
    shared = Shared(context.Value("d", 0.0), context.Value("i", 0))
    process = context.Process(target=_run, args=(plan_, port, shared, log, lifetime_s), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((outlet_host(plan_.outlets - 1), port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not process.is_alive():
                raise RuntimeError("the newsroom did not start") from None
            time.sleep(0.1)
    try:
        yield Served(plan_, port, shared)
    finally:
        process.terminate()
        process.join(5)


def feed_list_yaml(plan_: Plan, port: int, interval_minutes: float) -> str:
    """A feed list with every outlet's feed in one group polled every `interval_minutes`."""
    feeds = [
        {"url": feed_url(n, port), "name": f"Outlet {n}", "group": "soak"}
        for n in range(plan_.outlets)
    ]
    return json.dumps({"feeds": feeds, "groups": {"soak": {"interval_minutes": interval_minutes}}})


def fault_records(plan_: Plan) -> list[dict[str, object]]:
    """The outlets' misbehaviour as report entries."""
    return [
        {
            "kind": f"outlet-{f.kind}",
            "at_s": f.start_s,
            "duration_s": f.duration_s,
            "outlet": f.outlet,
        }
        for f in plan_.faults
    ]

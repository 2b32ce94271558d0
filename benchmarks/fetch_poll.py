"""Benchmark: poll 2,000 feeds from a loopback server where 90% answer 304.

A warm-up round reads every feed once (storing validators and seen entries); the measured
round polls all of them again: 9 in 10 answer 304 to their ETag, the rest send a changed
body with one new entry among 20, which is parsed and filtered against the seen entries.
Reports feeds/s and the share of wall time the client spent on the CPU (its time outside
the network wait), with the server in another process.

    PYTHONPATH=. python benchmarks/fetch_poll.py [--feeds 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repo root, for `benchmarks.` and `tests.`

from benchmarks.loopback import Response, serving
from connectors.feeds.poll import FeedPoller, poll_policy
from connectors.feeds.state import FeedState
from connectors.http import Fetcher
from newsflow.config import FetchSettings

ITEMS_PER_FEED = 20
_versions: dict[int, int] = {}


def feed_app(path: str, headers: dict[str, str]) -> Response:
    """/feed/N: feeds with N % 10 == 0 change on every request, the others never do."""
    number = int(path.rsplit("/", 1)[1])
    if number % 10 == 0:  # one entry more on every request
        _versions[number] = _versions.get(number, -1) + 1
    version = _versions.get(number, 0)
    etag = f'"{number}-{version}"'
    if headers.get("if-none-match") == etag:
        return 304, {"ETag": etag}, b""
    first = version
    items = "".join(
        f"<item><guid>{number}-{i}</guid><link>https://news{number}.example/{i}</link>"
        f"<title>Story {i} of feed {number}</title><pubDate>Mon, 23 Nov 2026 08:00:00 GMT"
        f"</pubDate><description>Summary of story {i}.</description></item>"
        for i in range(first, first + ITEMS_PER_FEED)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
        f"<link>https://news{number}.example/</link>{items}</channel></rss>"
    ).encode()
    return 200, {"Content-Type": "application/rss+xml", "ETag": etag}, body


async def poll_all(poller: FeedPoller, urls: list[str]) -> dict[str, int]:
    outcomes: dict[str, int] = {}

    async def one(url: str) -> None:
        read = await poller.new_entries(url)
        poller.commit(read)
        key = str(read.skip.reason) if read.skip else f"changed ({len(read.new)} new)"
        outcomes[key] = outcomes.get(key, 0) + 1

    await asyncio.gather(*(one(url) for url in urls))
    return outcomes


async def run(base_url: str, feeds: int, concurrency: int, data_dir: Path) -> dict[str, object]:
    # One loopback host stands in for 2,000 sites: per-host politeness is lifted here.
    settings = FetchSettings(
        allowed_networks=["127.0.0.1/32"],
        concurrency=concurrency,
        per_host_concurrency=concurrency,
        per_host_rate=0,
    )
    urls = [f"{base_url}/feed/{n}" for n in range(feeds)]
    with FeedState.in_data_dir(data_dir) as state:
        async with Fetcher(settings) as fetcher:
            poller = FeedPoller(fetcher, state, poll_policy(settings))
            warm = await poll_all(poller, urls)
            wall, cpu = time.perf_counter(), time.process_time()
            measured = await poll_all(poller, urls)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "feeds": feeds,
        "concurrency": concurrency,
        "warm_up": warm,
        "measured": measured,
        "seconds": round(wall, 3),
        "feeds_per_s": round(feeds / wall, 1),
        "client_cpu_share": round(cpu / wall, 3),
        "client_cpu_ms_per_feed": round(1000 * cpu / feeds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with serving(feed_app) as base_url, tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(base_url, args.feeds, args.concurrency, Path(tmp)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

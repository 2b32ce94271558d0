"""Helpers for the poll-feeds tests: a feed list file, a run, its outcomes and artifacts."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.poll_feeds import poll_feeds
from newsflow.outcomes import FeedOutcome, PollResult
from tests.flows.news_site import NewsSite
from tests.flows.prefect_server import PrefectServer


def write_feed_list(path: Path, feeds: dict[str, str], group: str = "world") -> Path:
    """A feed list with `feeds` (name -> URL), all in `group`."""
    path.write_text(
        yaml.safe_dump(
            {
                "feeds": [
                    {"url": url, "name": name, "group": group} for name, url in feeds.items()
                ],
                "groups": {group: {"interval_minutes": 5}},
            }
        )
    )
    return path


def run_poll(feeds_file: Path, group: str = "world") -> PollResult:
    """One poll-feeds flow run."""
    return asyncio.run(poll_feeds(str(feeds_file), group))


def by_name(result: PollResult) -> dict[str | None, FeedOutcome]:
    return {feed.name: feed for feed in result.feeds}


def article_hits(site: NewsSite) -> dict[str, int]:
    """Requests per page of `site`, feeds and robots.txt left out."""
    return {
        path: n
        for path, n in site.hits.items()
        if not path.startswith("/feeds/") and path != "/robots.txt"
    }


def read_artifacts(key: str) -> list[Any]:
    """The artifacts stored under `key`, newest first."""

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                sort=ArtifactSort.CREATED_DESC,
            )

    return asyncio.run(read())


def api(call: Any) -> Any:
    """`call(client)` with a Prefect client of the configured API, run to completion."""

    async def run() -> Any:
        async with get_client() as client:
            return await call(client)

    return asyncio.run(run())


def serve_env(
    server: PrefectServer, tmp_path: Path, repo_root: Path, data_dir: Path
) -> dict[str, str]:
    """The environment of a `newsflow serve` subprocess reporting to `server`, polling
    loopback sites into `data_dir` with no per-host spacing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    env.update(
        PREFECT_API_URL=server.api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        PYTHONPATH=str(repo_root),
        NEWSFLOW_DATA_DIR=str(data_dir),
        NEWSFLOW_FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        NEWSFLOW_FETCH_PER_HOST_RATE="0",
    )
    return env

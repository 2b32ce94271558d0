"""A real Prefect server with its scheduler on creates the poll deployments' scheduled runs.

The other server tests start runs themselves with the scheduler off; this one checks the
path `newsflow serve` relies on. It failed with SQLAlchemy 2.1 under Prefect 3.8.8 (the
scheduler service raised on every loop, so no poll ever ran): found by the soak benchmark.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from connectors.feeds.lists import load_feed_list
from flows.deployments import poll_deployments
from tests.flows.prefect_server import reporting_to, running_prefect_server, wait_until

pytestmark = pytest.mark.integration


def _scheduled_runs(deployment_id: UUID) -> int | None:
    async def count() -> int:
        async with get_client() as client:
            return await client.count_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )

    found = asyncio.run(count())
    return found or None


def test_the_scheduler_creates_runs_for_a_poll_deployment(tmp_path: Path) -> None:
    feeds_file = tmp_path / "feeds.yml"
    feeds_file.write_text(
        "feeds:\n  - {url: 'http://127.0.0.1:9/feed.xml', group: fast}\n"
        "groups:\n  fast: {interval_minutes: 1}\n"
    )
    [deployment] = poll_deployments(feeds_file, load_feed_list(feeds_file))
    with (
        running_prefect_server(tmp_path / "prefect", scheduler=True) as server,
        reporting_to(server),
    ):
        deployment_id = deployment.apply()
        runs = wait_until(lambda: _scheduled_runs(deployment_id), timeout_s=90)
    assert runs >= 1

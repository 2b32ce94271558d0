"""`newsflow replay` and `newsflow run --once` with Kafka configured and every consumer setting
at its default (session 45 s, heartbeat 3 s, max poll interval 300 s, batch wait 1 s) finish:
the stages they run in their own process read their partitions without joining groups.

Run as the user runs them, in a subprocess; only the broker, topic and group names are set.
A command that hangs fails at `COMMAND_TIMEOUT_S`, a bound on failure, not a speed check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.kafka.offsets import group_lag
from newsflow.config import KafkaSettings, Settings
from newsflow.pipeline import subscriptions
from tests.kafka.broker import TansuBroker
from tests.url_list_site import url_list_feeds

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 240  # under the suite's 300 s test timeout, so the hang is named


_NAMES = {name for name in KafkaSettings.model_fields if name.startswith("topic_")} | {
    "group_prefix"
}


@pytest.fixture
def kafka(broker: TansuBroker, settings_factory: Callable[..., KafkaSettings]) -> KafkaSettings:
    """Default settings, with this test's own topics and groups on the test broker."""
    named = settings_factory(broker.bootstrap).model_dump(include=_NAMES)
    return KafkaSettings(bootstrap=broker.bootstrap, **named)


def newsflow(*args: str, kafka: KafkaSettings, home: Path) -> str:
    """Run `newsflow ARGS` with `kafka`'s broker and names in the environment; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    env.update(
        PYTHONPATH=str(REPO),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        NEWSFLOW_KAFKA_BOOTSTRAP=str(kafka.bootstrap),
        NEWSFLOW_FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        NEWSFLOW_FETCH_PER_HOST_RATE="0",
    )
    for name in _NAMES:
        env[f"NEWSFLOW_KAFKA_{name.upper()}"] = str(getattr(kafka, name))
    done = subprocess.run(
        [sys.executable, "-m", "newsflow", *args, "--data-dir", str(home / "data")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def assert_caught_up(kafka: KafkaSettings) -> None:
    """Every stage's group committed up to the end of its topics."""
    for subscription in subscriptions(Settings(kafka=kafka)).values():
        rows = group_lag(kafka, subscription.group, subscription.topics)
        assert not any(row.lag for row in rows), subscription.group


def test_replay_finishes_with_the_default_settings(
    kafka: KafkaSettings, seeds_dir: Path, tmp_path: Path
) -> None:
    assert (kafka.session_timeout_ms, kafka.max_poll_interval_ms) == (45_000, 300_000)

    output = newsflow("replay", str(seeds_dir), "--mode", "direct", kafka=kafka, home=tmp_path)

    assert "replayed 2 article(s)" in output
    assert_caught_up(kafka)


def test_run_once_finishes_with_the_default_settings(
    kafka: KafkaSettings, corpus_dir: Path, tmp_path: Path
) -> None:
    with url_list_feeds(corpus_dir, slice(20, 23), tmp_path) as feeds:
        output = newsflow("run", "--once", "--feeds", str(feeds), kafka=kafka, home=tmp_path)

    assert "3 article(s) ingested" in output
    assert_caught_up(kafka)

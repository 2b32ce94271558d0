"""`newsflow serve STAGE` as real processes, and the environment that configures them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.kafka.offsets import group_lag
from newsflow.config import KafkaSettings, Settings
from newsflow.pipeline import subscriptions

REPO = Path(__file__).resolve().parents[2]


def kafka_env(kafka: KafkaSettings) -> dict[str, str]:
    """The `NEWSFLOW_KAFKA_*` variables that give another process these Kafka settings."""
    values = kafka.model_dump(exclude_none=True).items()
    return {f"NEWSFLOW_KAFKA_{name.upper()}": str(value) for name, value in values}


def settings_env(settings: Settings) -> dict[str, str]:
    """The variables for `settings`' data dir, cross-language switch and Kafka settings."""
    return {
        "NEWSFLOW_DATA_DIR": str(settings.data_dir),
        "NEWSFLOW_CLUSTER_CROSS_LANGUAGE": str(settings.cluster.cross_language).lower(),
        **kafka_env(settings.kafka),
    }


def start_service(settings: Settings, stage: str) -> subprocess.Popen[bytes]:
    """`newsflow serve STAGE` in a process of its own, not reporting to a Prefect server."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PREFECT_API_URL="", **settings_env(settings))
    return subprocess.Popen(
        [sys.executable, "-m", "newsflow", "serve", stage],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_service(service: subprocess.Popen[bytes]) -> int:
    """Stop a service as its supervisor would (SIGTERM) and return its exit status."""
    service.send_signal(signal.SIGTERM)
    try:
        return service.wait(timeout=60)
    finally:
        service.kill()


@contextmanager
def services(settings: Settings, *stages: str) -> Iterator[list[int]]:
    """The stages' services while the block runs; the list holds their exit statuses after."""
    started = [start_service(settings, stage) for stage in stages]
    statuses: list[int] = []
    try:
        yield statuses
    finally:
        statuses += [stop_service(service) for service in started]


def caught_up(settings: Settings) -> bool:
    """Every stage's group committed everything, checked in stage order (each stage publishes
    before it commits, so what it published is on the topics by the time the next is read)."""
    for subscription in subscriptions(settings).values():
        rows = group_lag(settings.kafka, subscription.group, subscription.topics)
        if not rows or any(row.lag for row in rows):
            return False
    return True

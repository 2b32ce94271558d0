"""`newsflow status`, `newsflow reprocess` and `newsflow config` with Kafka configured."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from connectors.kafka import KafkaBus
from newsflow.bus import Topics, encode
from newsflow.cli import app
from newsflow.config import KafkaSettings, Settings
from newsflow.pipeline import subscriptions
from tests.kafka.services import kafka_env

runner = CliRunner()


def use_settings(monkeypatch: pytest.MonkeyPatch, settings: KafkaSettings) -> None:
    for name, value in kafka_env(settings).items():
        monkeypatch.setenv(name, value)


def lag_rows(group: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    return [row for row in rows if row["group"] == group]


@pytest.mark.integration
def test_status_shows_lag_and_reprocess_rewinds_it(
    kafka_settings, article_factory, consume_messages, monkeypatch
):
    use_settings(monkeypatch, kafka_settings)
    topics = Topics.from_settings(kafka_settings)
    bus = KafkaBus(kafka_settings)
    for n in range(4):  # one record per request: see the Tansu end-offset note in docs/kafka.md
        bus.publish(topics.extracted, str(n), encode(article_factory(n)))
        bus.flush()
    group = subscriptions(Settings(kafka=kafka_settings))["cluster"].group
    assert sum(row["lag"] for row in lag_rows(group)) == 4

    bus.close()
    assert len(consume_messages(kafka_settings, [topics.extracted], group, 4, commit=True)) == 4
    assert sum(row["lag"] for row in lag_rows(group)) == 0

    result = runner.invoke(app, ["reprocess", "--from-beginning", "--services-running"])
    assert result.exit_code == 0, result.output
    assert sum(row["lag"] for row in lag_rows(group)) == 4

    table = runner.invoke(app, ["status"])
    assert "total lag: 4" in table.output


def test_reprocess_needs_exactly_one_starting_point(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    result = runner.invoke(app, ["reprocess"])
    assert result.exit_code == 1
    assert "exactly one of --from-beginning and --from-timestamp" in result.output


def test_config_masks_kafka_secrets(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_KAFKA_SASL_PASSWORD", "s3cret-pass")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.output
    assert json.loads(result.output)["settings"]["kafka"]["sasl_password"] == "**********"

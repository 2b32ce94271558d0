"""Pure parts of the Kafka transport: client settings, topic layout, offsets and lag."""

from __future__ import annotations

import json
import logging

import pytest

from connectors.kafka import BusUnavailable, KafkaBus
from connectors.kafka.client_config import (
    KafkaNotConfigured,
    consumer_config,
    producer_config,
)
from connectors.kafka.consumer import next_offsets
from connectors.kafka.offsets import lag_of
from connectors.kafka.topics import topic_specs
from newsflow.bus import Message
from newsflow.config import KafkaSettings, load_settings


def test_sasl_and_tls_settings_pass_through_with_the_secret_unwrapped():
    settings = KafkaSettings(
        bootstrap="b1:9093, b2:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="newsflow",
        sasl_password="s3cret-pass",
        ssl_cafile="/etc/ssl/ca.pem",
    )
    config = producer_config(settings)
    assert config["bootstrap_servers"] == ["b1:9093", "b2:9093"]
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "newsflow"
    assert config["sasl_plain_password"] == "s3cret-pass"
    assert config["ssl_cafile"] == "/etc/ssl/ca.pem"
    assert config["acks"] == "all"


def test_plaintext_passes_no_security_options():
    config = consumer_config(KafkaSettings(bootstrap="localhost:9092"), "g")
    assert not any(key.startswith(("sasl_", "ssl_")) for key in config)
    assert config["enable_auto_commit"] is False
    assert config["group_id"] == "g"


def test_secrets_are_masked_when_the_settings_are_printed(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_KAFKA_BOOTSTRAP", "broker:9092")
    monkeypatch.setenv("NEWSFLOW_KAFKA_SASL_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("NEWSFLOW_KAFKA_SSL_PASSWORD", "key-pass")
    settings = load_settings()
    printed = settings.model_dump_json() + repr(settings) + str(settings)
    assert "s3cret-pass" not in printed and "key-pass" not in printed
    assert json.loads(settings.model_dump_json())["kafka"]["sasl_password"] == "**********"
    assert settings.kafka.bootstrap == "broker:9092"


def test_kafka_without_bootstrap_is_a_clear_error():
    with pytest.raises(KafkaNotConfigured, match="NEWSFLOW_KAFKA_BOOTSTRAP"):
        producer_config(KafkaSettings(bootstrap=None))


def test_the_stories_and_checkpoint_topics_are_compacted_and_the_others_are_not():
    settings = KafkaSettings(partitions=12, replication_factor=3)
    specs = {spec.name: spec for spec in topic_specs(settings)}
    assert specs[settings.topic_stories].configs == {"cleanup.policy": "compact"}
    assert specs[settings.topic_extracted].configs == {}
    checkpoints = specs.pop(settings.topic_cluster_state)
    assert {(s.partitions, s.replication_factor) for s in specs.values()} == {(12, 3)}
    assert (checkpoints.partitions, checkpoints.replication_factor) == (2, 3)
    assert checkpoints.configs == {"cleanup.policy": "compact"}


def test_commits_point_past_the_highest_processed_offset_per_partition():
    messages = [
        Message("t", "k", b"", partition=0, offset=4),
        Message("t", "k", b"", partition=0, offset=2),
        Message("t", "k", b"", partition=1, offset=0),
        Message("u", "k", b"", partition=0, offset=9),
    ]
    assert next_offsets(messages) == {("t", 0): 5, ("t", 1): 1, ("u", 0): 10}


@pytest.mark.parametrize(
    ("committed", "beginning", "end", "lag"),
    [(None, 0, 7, 7), (5, 0, 7, 2), (7, 0, 7, 0), (None, 3, 7, 4), (1, 3, 7, 4), (9, 0, 7, 0)],
)
def test_lag_counts_from_the_committed_offset_or_the_start(committed, beginning, end, lag):
    assert lag_of(committed, beginning, end) == lag


def test_client_passwords_never_reach_the_logs(settings_factory, unused_bootstrap, caplog):
    settings = settings_factory(
        unused_bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_username="newsflow",
        sasl_password="s3cret-pass",
        connect_timeout_ms=1000,
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(BusUnavailable):
        KafkaBus(settings)
    assert "Starting KafkaAdminClient with configuration" in caplog.text
    assert "s3cret-pass" not in caplog.text


@pytest.mark.parametrize("written", ["none", "None", " NONE "])
def test_none_turns_compression_off_from_the_environment_or_the_config_file(
    monkeypatch, tmp_path, written
):
    monkeypatch.setenv("NEWSFLOW_KAFKA_COMPRESSION_TYPE", written)
    assert producer_config(KafkaSettings(bootstrap="b:9092"))["compression_type"] is None
    monkeypatch.delenv("NEWSFLOW_KAFKA_COMPRESSION_TYPE")
    config = tmp_path / "newsflow.toml"
    config.write_text(f'[kafka]\ncompression_type = "{written}"\n', encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    assert load_settings().kafka.compression_type is None


def test_an_unknown_compression_is_refused(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_KAFKA_COMPRESSION_TYPE", "brotli")
    with pytest.raises(ValueError, match="compression_type"):
        KafkaSettings()
    monkeypatch.setenv("NEWSFLOW_KAFKA_COMPRESSION_TYPE", "lz4")
    assert KafkaSettings().compression_type == "lz4"

"""kafka-python keyword arguments built from `KafkaSettings` (pure functions, no I/O)."""

from __future__ import annotations

import logging
from typing import Any

from newsflow.config import KafkaSettings

SECRET_OPTIONS = frozenset({"sasl_plain_password", "ssl_password"})
MASK = "**********"


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with its secret values replaced, for printing."""
    return {name: MASK if name in SECRET_OPTIONS else value for name, value in config.items()}


class MaskClientSecrets(logging.Filter):
    """Masks secrets in log records that print a whole client configuration.

    kafka-python's admin client logs its configuration, password included, at DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # a lone dict argument is stored unwrapped
            record.args = masked(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(
                masked(arg) if isinstance(arg, dict) else arg for arg in record.args
            )
        return True


logging.getLogger("kafka.admin.client").addFilter(MaskClientSecrets())


class KafkaNotConfigured(ValueError):
    """Kafka was asked for but `bootstrap` is not set."""


def bootstrap_servers(settings: KafkaSettings) -> list[str]:
    """The `host:port` list to bootstrap from; raises when Kafka is not configured."""
    servers = [part.strip() for part in (settings.bootstrap or "").split(",") if part.strip()]
    if not servers:
        raise KafkaNotConfigured(
            "Kafka is not configured: set NEWSFLOW_KAFKA_BOOTSTRAP or [kafka] bootstrap"
        )
    return servers


def connection_config(settings: KafkaSettings) -> dict[str, Any]:
    """Settings every client shares: brokers, timeouts, TLS and SASL (secrets unwrapped here)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "client_id": settings.client_id,
        "request_timeout_ms": settings.request_timeout_ms,
        "retry_backoff_ms": settings.retry_backoff_ms,
        "reconnect_backoff_max_ms": settings.reconnect_backoff_max_ms,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_check_hostname"] = settings.ssl_check_hostname
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(settings, name)
            if path is not None:
                config[name] = str(path)
        if settings.ssl_password is not None:
            config["ssl_password"] = settings.ssl_password.get_secret_value()
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        config["sasl_mechanism"] = settings.sasl_mechanism or "PLAIN"
        config["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            config["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return config


def producer_config(settings: KafkaSettings) -> dict[str, Any]:
    """Producer settings: acks=all, bounded retries with backoff, batching, compression."""
    return connection_config(settings) | {
        "acks": "all",
        "linger_ms": settings.linger_ms,
        "batch_size": settings.batch_size,
        "compression_type": settings.compression_type,
        "delivery_timeout_ms": settings.delivery_timeout_ms,
        "max_block_ms": settings.connect_timeout_ms,
        "bootstrap_timeout_ms": settings.connect_timeout_ms,
    }


def consumer_config(settings: KafkaSettings, group: str | None) -> dict[str, Any]:
    """Consumer settings: manual commits only, start from the beginning of a new group."""
    return connection_config(settings) | {
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.batch_max_records,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "bootstrap_timeout_ms": settings.connect_timeout_ms,
    }

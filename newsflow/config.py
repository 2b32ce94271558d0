"""Configuration: environment variables over one optional TOML file over defaults.

Every setting has an environment variable `NEWSFLOW_<SECTION>_<NAME>` (top-level ones
`NEWSFLOW_<NAME>`) and a key in the config file, `[section] name = value`. The file is
`$NEWSFLOW_CONFIG`, else `./newsflow.toml` when it exists. Secrets are `SecretStr`, so they
print masked everywhere, including `newsflow config`.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

CONFIG_ENV = "NEWSFLOW_CONFIG"
DEFAULT_CONFIG_FILE = Path("newsflow.toml")


def config_file_path() -> Path | None:
    """The config file in force: `$NEWSFLOW_CONFIG`, else `./newsflow.toml` if present."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


@cache
def _read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


class ConfigError(ValueError):
    """The configuration cannot be loaded."""


class _ConfigFileSection(PydanticBaseSettingsSource):
    """Settings source that reads one table (or the top level) of the config file."""

    def __init__(self, settings_cls: type[BaseSettings], section: str | None) -> None:
        super().__init__(settings_cls)
        self.section = section

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        data = _read_config_file(config_file_path())
        if self.section is None:
            return {k: v for k, v in data.items() if not isinstance(v, dict)}
        section = data.get(self.section, {})
        return dict(section) if isinstance(section, dict) else {}


class _Section(BaseSettings):
    """Base of every settings section: env first, then the config file, then defaults."""

    file_section: ClassVar[str | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSection(settings_cls, cls.file_section))


# --- fetching (connectors/http) ------------------------------------------------------------


class FetchSettings(_Section):
    """How newsflow talks to the web."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_FETCH_", extra="ignore")
    file_section: ClassVar[str | None] = "fetch"

    user_agent: str = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"
    contact_url: str | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0, description="cap on a response body")
    max_redirects: int = Field(default=5, ge=0)
    concurrency: int = Field(default=8, gt=0, description="requests in flight per process")
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs exempt from the private-address block, e.g. 127.0.0.0/8",
    )
    per_host_concurrency: int = Field(default=2, gt=0, description="requests in flight per host")
    per_host_rate: float = Field(
        default=1.0, ge=0, description="request starts per second per host; 0 = no spacing"
    )
    max_retry_wait_s: float = Field(
        default=30.0, ge=0, description="longest wait honoured for a host's Retry-After"
    )
    respect_robots: bool = Field(default=True, description="honour robots.txt for articles")
    robots_ttl_s: float = Field(default=3600.0, gt=0, description="how long robots.txt is cached")
    poll_floor_minutes: float = Field(default=5.0, gt=0, description="shortest feed interval")
    poll_ceiling_minutes: float = Field(default=360.0, gt=0, description="longest feed interval")
    dead_after_failures: int = Field(
        default=10, gt=0, description="consecutive failures before a feed is marked dead"
    )

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


# --- clustering (newsflow/clustering) -------------------------------------------------------


class ClusterSettings(_Section):
    """Thresholds and windows of the story clusterer."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_CLUSTER_", extra="ignore")
    file_section: ClassVar[str | None] = "cluster"

    window_hours: float = Field(default=120.0, gt=0, description="how long a story stays open")


# --- Kafka bus (connectors/kafka) -----------------------------------------------------------


class KafkaSettings(_Section):
    """The Kafka bus; unset `bootstrap` means the in-process bus."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_KAFKA_", extra="ignore")
    file_section: ClassVar[str | None] = "kafka"

    bootstrap: str | None = Field(default=None, description="host:port[,host:port]")
    topic_extracted: str = "newsflow.articles.extracted"
    topic_clustered: str = "newsflow.articles.clustered"
    topic_stories: str = "newsflow.stories"
    topic_dead_letter: str = "newsflow.dead-letter"
    sasl_password: SecretStr | None = None


# --- search store (connectors/sqlite_store, connectors/elasticsearch) -----------------------


class SearchSettings(_Section):
    """Where articles and stories are indexed; neither URL set means the local SQLite store."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore")
    file_section: ClassVar[str | None] = "search"

    es_url: str | None = None
    es_api_key: SecretStr | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_cert: Path | None = None
    opensearch_url: str | None = None


# --- the whole configuration ----------------------------------------------------------------


class Settings(_Section):
    """Everything newsflow reads from its environment, section by section."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore")

    data_dir: Path = Field(default=Path(".newsflow"), description="local state and store")
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings in force now; `overrides` win over env and file (CLI options)."""
    _read_config_file.cache_clear()
    return Settings(**overrides)

"""Configuration: environment variables over one optional TOML file over defaults.

Every setting has an environment variable `NEWSFLOW_<SECTION>_<NAME>` (top-level ones
`NEWSFLOW_<NAME>`; the `[search]` keys, which name their product already, `NEWSFLOW_<NAME>`
too, e.g. `NEWSFLOW_ES_URL`) and a key in the config file, `[section] name = value`. The file is
`$NEWSFLOW_CONFIG`, else `./newsflow.toml` when it exists. Secrets are `SecretStr`, so they
print masked everywhere, including `newsflow config`.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    extract_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        description="HTML bytes of one page handed to the extractor; a longer page is cut",
    )
    extract_max_tags: int = Field(
        default=30_000,
        gt=0,
        description="tags of one page handed to the extractor; the page is cut before the next",
    )
    max_items_per_feed: int = Field(
        default=300,
        gt=0,
        description="new entries taken from one feed per poll; the rest wait for the next poll",
    )

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network (CIDR): {cidr!r}") from exc
        return value

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> FetchSettings:
        if self.poll_floor_minutes > self.poll_ceiling_minutes:
            raise ValueError("poll_floor_minutes must not exceed poll_ceiling_minutes")
        return self


# --- clustering (newsflow/clustering) -------------------------------------------------------


class ClusterSettings(_Section):
    """Thresholds and windows of the story clusterer."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_CLUSTER_", extra="ignore")
    file_section: ClassVar[str | None] = "cluster"

    window_hours: float = Field(default=120.0, gt=0, description="how long a story stays open")
    window_lag_articles: int = Field(
        default=10_000,
        gt=0,
        description="stories are forgotten against the clock as it stood this many arrivals "
        "earlier (1: the current clock), so that unordered input meets its neighbours",
    )
    # Same event, different wording: TF-IDF over title and lead.
    join_threshold: float = Field(
        default=0.24, ge=0, le=1, description="least similarity for an article to join a story"
    )
    merge_threshold: float = Field(
        default=0.6,
        ge=0,
        description="least similarity of an article to a second story that "
        "makes the two stories one (above 1 disables merging)",
    )
    same_source_factor: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="similarity factor for a story that already has an article from the same "
        "outlet, while the stream shows that outlets rarely write one story up twice",
    )
    same_source_evidence: int = Field(
        default=30,
        ge=0,
        description="confident matches seen before the same-outlet factor may apply",
    )
    same_source_repeat_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="the same-outlet factor applies while at most this share of confident "
        "matches found their outlet in the story already",
    )
    confident_match: float = Field(
        default=0.4,
        ge=0,
        description="similarity to the closest story at which a match counts as evidence about outlets",
    )
    key_names: int = Field(
        default=3,
        ge=0,
        description="heaviest name-like terms of an article that a story "
        "should share (0 disables the check)",
    )
    name_miss_factor: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="similarity factor for a story sharing none of the article's key names",
    )
    lead_tokens: int = Field(default=80, gt=0, description="words of the text read as the lead")
    title_weight: float = Field(
        default=2.0, gt=0, description="count of a title word vs a lead word"
    )
    name_boost: float = Field(
        default=1.15, gt=0, description="weight factor of names, numbers and acronyms"
    )
    idf_prior_documents: float = Field(
        default=1000.0,
        ge=0,
        description="pseudo-documents smoothing the inverse document "
        "frequencies while the window is nearly empty",
    )
    vector_terms: int = Field(default=60, gt=0, description="heaviest terms kept per article")
    query_terms: int = Field(
        default=12, gt=0, description="heaviest article terms used to look up candidate stories"
    )
    max_posting: int = Field(
        default=100, gt=0, description="terms indexed under more stories are not looked up"
    )
    max_candidates: int = Field(default=6, gt=0, description="stories scored per article")
    decay_grace_hours: float = Field(
        default=24.0, ge=0, description="time gap to a story that costs no similarity"
    )
    decay_half_life_hours: float = Field(
        default=48.0, gt=0, description="beyond the grace period, similarity halves every ..."
    )
    # Near-duplicates: MinHash LSH over word shingles of the text.
    duplicate_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="least estimated share of the shorter text's "
        "shingles found in the other text for a near-copy",
    )
    shingle_size: int = Field(default=5, gt=0, description="words per shingle")
    shingle_tokens: int = Field(default=200, gt=0, description="words of the text shingled")
    minhash_permutations: int = Field(default=64, gt=0, description="MinHash signature length")
    lsh_bands: int = Field(default=20, gt=0, description="LSH bands (bands x rows <= signature)")
    lsh_rows: int = Field(default=2, gt=0, description="signature values per LSH band")
    # Across languages: stories linked by a multilingual embedding (newsflow/linking).
    cross_language: bool = Field(
        default=False,
        description="link stories written in different languages into one "
        "(needs the `multilingual` extra)",
    )
    link_threshold: float = Field(
        default=0.87,
        ge=0,
        le=1,
        description="least embedding cosine between two stories of different languages to link",
    )
    link_margin: float = Field(
        default=0.01,
        ge=0,
        description="how far the linked story must lead the best other open story",
    )
    # Checkpoints of the window (newsflow/clustering/checkpoint.py).
    checkpoint_interval_s: float = Field(
        default=30.0, gt=0, description="a checkpoint at least this often while articles arrive"
    )
    checkpoint_records: int = Field(
        default=20_000, gt=0, description="a checkpoint after this many articles at the latest"
    )
    checkpoint_max_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="checkpoints wait so that writing them takes at most this share of the time",
    )


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
    topic_cluster_state: str = Field(
        default="newsflow.cluster-state",
        description="checkpoints of the clusterer's window (compacted), for relocating it",
    )
    # Topics are created on start-up when missing.
    partitions: int = Field(default=6, gt=0, description="partitions of each created topic")
    replication_factor: int = Field(
        default=-1, ge=-1, description="replicas of each created topic; -1 = broker default"
    )
    create_topics: bool = Field(default=True, description="create missing topics on start-up")
    client_id: str = "newsflow"
    group_prefix: str = Field(default="newsflow", description="consumer group = <prefix>-<stage>")
    # Producer: acks=all always; retries are bounded by delivery_timeout_ms.
    linger_ms: int = Field(default=20, ge=0)
    batch_size: int = Field(default=256 * 1024, gt=0, description="bytes per partition batch")
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = Field(
        default="zstd",
        description="zstd: gzip's ratio on articles at five times its speed; none: no compression",
    )
    retry_backoff_ms: int = Field(default=200, ge=0)
    delivery_timeout_ms: int = Field(default=120_000, gt=0, description="give up on a record")
    request_timeout_ms: int = Field(default=30_000, gt=0)
    connect_timeout_ms: int = Field(
        default=30_000, gt=0, description="how long a producer waits for the first broker"
    )
    # Consumers: manual commits after the downstream write; batches bounded by count and time.
    batch_max_records: int = Field(default=500, gt=0)
    batch_max_wait_ms: int = Field(default=1_000, ge=0)
    session_timeout_ms: int = Field(default=45_000, gt=0)
    heartbeat_interval_ms: int = Field(default=3_000, gt=0)
    max_poll_interval_ms: int = Field(default=300_000, gt=0)
    reconnect_backoff_max_ms: int = Field(default=10_000, gt=0)
    # Security, passed through to kafka-python.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    # How `replay`/`run` wait for their articles to go through the Kafka stages.
    services_running: bool = Field(
        default=False,
        description="the consumer services run elsewhere: only publish, then wait for the store",
    )
    process_timeout_s: float = Field(
        default=300.0, gt=0, description="how long to wait for published articles to be stored"
    )

    @field_validator("compression_type", mode="before")
    @classmethod
    def _none_is_no_compression(cls, value: Any) -> Any:
        # Environment variables and TOML have no null: "none" stands for it.
        if isinstance(value, str) and value.strip().lower() == "none":
            return None
        return value


# --- search store (connectors/sqlite_store, connectors/search) -----------------------------


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
    search_index_prefix: str = Field(
        default="newsflow-", pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="index/alias prefix"
    )
    search_refresh_interval: str = Field(
        default="1s", description="how soon indexed documents become searchable, e.g. 1s, 30s"
    )
    search_bulk_size: int = Field(default=500, gt=0, description="documents per bulk request")
    search_timeout_s: float = Field(default=30.0, gt=0, description="one request's timeout")
    search_retry_max_s: float = Field(
        default=120.0, gt=0, description="how long to retry an unavailable server before failing"
    )
    kibana_url: str | None = None


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

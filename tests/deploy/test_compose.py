"""docker-compose.yml: valid Compose, a sound service graph, documented variables.

There is no Docker engine in CI, so everything `docker compose config` would catch, and the
wiring mistakes it would not, is checked here on the parsed file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from connectors.feeds.lists import load_feed_list
from newsflow.config import Settings

Services = dict[str, dict[str, Any]]

# The newsflow services that run the pipeline against Kafka and Elasticsearch.
PIPELINE_SERVICES = ("poller", "cluster", "link", "indexer")
STATEFUL_DATA_PATHS = {
    "kafka": "/var/lib/kafka/data",
    "elasticsearch": "/usr/share/elasticsearch/data",
    "prefect-server": "/data/prefect",
}
LAPTOP_MEMORY_BUDGET_BYTES = 8 * 1024**3


def _is_one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no"


def _strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML tree (keys of mappings included)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


_INTERPOLATION = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def interpolated_variables(compose: dict[str, Any]) -> set[str]:
    """Names compose substitutes from the environment / `.env` (`$$` escapes excluded)."""
    found: set[str] = set()
    for text in _strings(compose):
        unescaped = text.replace("$$", "")
        found.update(a or b for a, b in _INTERPOLATION.findall(unescaped))
    return found


def documented_variables(env_example: str) -> dict[str, str]:
    """`.env.example` as {name: the comment block above it}."""
    documented: dict[str, str] = {}
    comment: list[str] = []
    for line in env_example.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("# "))
        elif "=" in stripped:
            documented[stripped.split("=", 1)[0].strip()] = " ".join(comment).strip()
        else:
            comment = []
    return documented


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def settings_env_names() -> set[str]:
    """Every environment variable newsflow's settings read, derived from the config classes."""
    names: set[str] = set()
    sections = [Settings] + [
        field.annotation for field in Settings.model_fields.values() if field.default_factory
    ]
    for section in sections:
        assert isinstance(section, type)
        prefix = str(section.model_config.get("env_prefix", ""))
        names.update(f"{prefix}{name}".upper() for name in section.model_fields)  # type: ignore[attr-defined]
    return names


def test_compose_file_is_valid_against_the_compose_spec(
    compose: dict[str, Any], compose_spec: dict[str, Any]
) -> None:
    validator = jsonschema.Draft7Validator(compose_spec)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_every_dependency_waits_for_health_or_completion(services: Services) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must name conditions"
        for target, options in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            wanted = (
                "service_completed_successfully"
                if _is_one_shot(services[target])
                else "service_healthy"
            )
            assert options.get("condition") == wanted, f"{name} -> {target}: want {wanted}"


def test_every_long_running_service_has_a_health_check(services: Services) -> None:
    for name, service in services.items():
        if _is_one_shot(service):
            assert "healthcheck" not in service, f"one-shot {name} cannot become healthy"
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_image_is_pinned_to_a_version(services: Services, repo: Path) -> None:
    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image name"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned"
        if "build" in service:
            assert tag == version, f"{name}: built image tag {tag} != pyproject {version}"


def test_every_variable_compose_reads_is_documented(compose: dict[str, Any], repo: Path) -> None:
    documented = documented_variables((repo / ".env.example").read_text(encoding="utf-8"))
    used = interpolated_variables(compose)
    assert used, "expected secrets and ports to come from .env"
    assert used - documented.keys() == set(), "used but not in .env.example"
    assert documented.keys() - used == set(), "documented but never used"
    undocumented = [name for name, comment in documented.items() if not comment]
    assert not undocumented, f"no comment above {undocumented} in .env.example"


def test_env_example_is_git_ignored_only_as_dotenv(repo: Path) -> None:
    ignored = (repo / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert ".env.example" not in ignored


def test_pipeline_services_point_at_the_compose_services(services: Services) -> None:
    kafka_env = environment(services["kafka"])
    listeners = kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    advertised = {urlsplit(url).netloc for url in listeners}
    prefect_command = services["prefect-server"]["command"]
    prefect_port = prefect_command[prefect_command.index("--port") + 1]
    for name in PIPELINE_SERVICES:
        env = environment(services[name])
        for address in env["NEWSFLOW_KAFKA_BOOTSTRAP"].split(","):
            assert address in advertised, f"{name}: {address} is not a Kafka listener"
        es = urlsplit(env["NEWSFLOW_ES_URL"])
        assert (es.hostname, es.port) == ("elasticsearch", 9200), name
        api = urlsplit(env["PREFECT_API_URL"])
        assert (api.hostname, str(api.port), api.path) == ("prefect-server", prefect_port, "/api")
        assert env["NEWSFLOW_ES_USERNAME"] and env["NEWSFLOW_ES_PASSWORD"].startswith("${")


def test_pipeline_services_only_set_settings_newsflow_reads(services: Services) -> None:
    known = settings_env_names()
    assert {"NEWSFLOW_KAFKA_BOOTSTRAP", "NEWSFLOW_ES_URL", "NEWSFLOW_DATA_DIR"} <= known
    for name in (*PIPELINE_SERVICES, "kibana-setup", "web"):
        unknown = {k for k in environment(services[name]) if k.startswith("NEWSFLOW_")} - known
        assert not unknown, f"{name} sets {unknown}, which no setting reads"


def test_poller_leaves_consuming_to_the_consumer_services(services: Services) -> None:
    # Otherwise each poll run would join the cluster and index groups and compete with them.
    assert environment(services["poller"])["NEWSFLOW_KAFKA_SERVICES_RUNNING"] == "true"
    for name in ("cluster", "link", "indexer"):
        assert "NEWSFLOW_KAFKA_SERVICES_RUNNING" not in environment(services[name])


def test_the_cluster_link_and_index_stages_each_run_as_a_service(services: Services) -> None:
    from newsflow.pipeline import STAGES

    served = {
        service["command"][1]: environment(service)
        for service in services.values()
        if service.get("command", [None])[0] == "serve" and service["command"][1] in STAGES
    }
    assert {"cluster", "link", "index"} <= served.keys()
    link = served["link"]
    settings = Settings(cluster={"cross_language": link["NEWSFLOW_CLUSTER_CROSS_LANGUAGE"]})
    STAGES["link"].check_on(settings)  # the service would refuse to start otherwise
    assert "NEWSFLOW_CLUSTER_CROSS_LANGUAGE" not in served["cluster"]  # linking is link's own


def test_the_link_service_keeps_its_state_on_a_named_volume(
    compose: dict[str, Any], services: Services
) -> None:
    mounts = dict(volume.split(":")[::-1] for volume in services["link"]["volumes"])
    assert mounts["/data"] in compose["volumes"]
    assert environment(services["link"])["NEWSFLOW_DATA_DIR"] == "/data"
    assert "--heartbeat" in services["link"]["command"]


def test_kafka_is_a_single_kraft_node(services: Services) -> None:
    env = environment(services["kafka"])
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    # The indexer can scale to as many members as the topics have partitions.
    assert int(env["KAFKA_NUM_PARTITIONS"]) >= 3


def test_elasticsearch_has_security_on_and_kibana_its_own_user(services: Services) -> None:
    es = environment(services["elasticsearch"])
    assert es["xpack.security.enabled"] == "true"
    assert es["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD")
    kibana = environment(services["kibana"])
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_SYSTEM_PASSWORD")
    assert kibana["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"].startswith("${")
    assert "es-setup" in services["kibana"]["depends_on"]


def test_stateful_services_keep_their_data_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, path in STATEFUL_DATA_PATHS.items():
        mounts = {
            volume.split(":")[1]: volume.split(":")[0]
            for volume in compose["services"][name].get("volumes", [])
        }
        assert mounts.get(path) in declared, f"{name}: {path} is not on a named volume"


def test_host_files_mounted_into_services_exist(services: Services, repo: Path) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume.split(":")[0])
            if source.startswith("."):
                assert (repo / source).exists(), f"{name} mounts missing {source}"


def test_default_feed_list_parses_into_groups(repo: Path) -> None:
    feeds = load_feed_list(repo / "deploy" / "feeds.yml")
    assert feeds.feeds and len(feeds.groups()) >= 2
    for group in feeds.groups():
        assert group in feeds.intervals, f"group {group} has no interval_minutes"


def _memory_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", text.lower()).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** "-kmg".index(unit or "-")


def test_resource_limits_fit_a_laptop(services: Services) -> None:
    total = 0
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert "memory" in limits and "cpus" in limits, f"{name} has no resource limits"
        if not _is_one_shot(service):
            total += _memory_bytes(limits["memory"])
    assert total <= LAPTOP_MEMORY_BUDGET_BYTES


@pytest.mark.parametrize("name", ["indexer"])
def test_scalable_service_has_no_fixed_name_or_host_port(services: Services, name: str) -> None:
    assert "container_name" not in services[name]
    assert "ports" not in services[name]


def test_published_ports_bind_to_loopback(services: Services) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all interfaces"


def test_newsflow_services_run_existing_commands(services: Services) -> None:
    import typer.main

    from newsflow.cli import app

    registered = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for name, service in services.items():
        if "build" in service and service.get("entrypoint") is None:
            command = service["command"][0]
            assert command in registered, f"{name}: no command {command}"


def test_web_ui_listens_inside_and_is_published_on_loopback(services: Services) -> None:
    web = services["web"]
    command = web["command"]
    assert command[0] == "web"
    port = command[command.index("--port") + 1]
    # Inside its container it must listen beyond loopback for the published port to reach it.
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert [str(p).rsplit(":", 1)[1] for p in web["ports"]] == [port]
    assert f"http://localhost:{port}/api/health" in web["healthcheck"]["test"]
    es = urlsplit(environment(web)["NEWSFLOW_ES_URL"])
    assert (es.hostname, es.port) == ("elasticsearch", 9200)
    assert environment(web)["NEWSFLOW_ES_USERNAME"] == "newsflow"

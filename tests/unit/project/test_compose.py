"""docker-compose.yml and the Dockerfile: what a user would notice if they were wrong, checked without Docker."""

import json
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from streams.settings import Settings
from streams.tools.cli import demo
from tests.paths import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def services() -> dict[str, Any]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, written either as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(map(str, command))


def test_the_stack_has_kafka_topic_setup_redis_and_the_worker() -> None:
    assert {"kafka", "kafka-init", "redis", "worker"} <= set(services())


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    roles = environment(services()["kafka"])["KAFKA_PROCESS_ROLES"]
    assert {"broker", "controller"} <= {r.strip() for r in roles.split(",")}
    for name, service in services().items():
        assert "zookeeper" not in f"{name} {service.get('image', '')}".lower(), f"{name} is a ZooKeeper service"


def test_kafka_init_creates_every_topic_the_worker_uses() -> None:
    # The defaults, not this shell's HEALTHSCORE_* overrides: compose writes the defaults.
    settings = Settings.model_construct()
    created = set(re.findall(r"[\w.-]+", command_text(services()["kafka-init"])))
    missing = [
        name
        for name in [*settings.input_topics(), *settings.control_topics(), *settings.output_topics()]
        if name not in created
    ]
    assert not missing, f"kafka-init does not create {missing}"


def test_the_worker_reaches_the_kafka_and_redis_services() -> None:
    env = environment(services()["worker"])
    assert re.fullmatch(r"kafka://kafka:\d+", env["HEALTHSCORE_BROKER_URL"])
    assert re.fullmatch(r"redis://redis:\d+(/\d+)?", env["HEALTHSCORE_REDIS_URL"])


def published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host IP, host port, container port) of each port a service publishes, short syntax
    `[HOST_IP:][HOST_PORT:]CONTAINER_PORT`; an empty host IP is every interface, an empty host port Docker's pick."""
    found = []
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        host_port = parts[-2] if len(parts) >= 2 else ""
        found.append((host_ip, host_port, parts[-1]))
    return found


def test_the_worker_has_no_fixed_host_port_so_it_can_scale() -> None:
    ports = published(services()["worker"])
    assert ports and all(host_port == "" for _, host_port, _ in ports), ports


def test_every_published_port_is_bound_to_the_loopback_interface() -> None:
    for name, service in services().items():
        for host_ip, _host_port, container_port in published(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {container_port} on every interface of the host"


def documented_ports() -> dict[str, set[str]]:
    """Service -> the container ports docs/operations/docker-compose.md#ports says it publishes."""
    page = (ROOT / "docs/operations/docker-compose.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` \| ([^|]*) \| ([^|]*) \|", page, re.MULTILINE)
    return {service: set(re.findall(r"`(\d+)`", ports)) for service, ports, host in rows if "not published" not in host}


def test_the_docs_list_every_published_port_and_no_other() -> None:
    actual = {name: {port for _, _, port in published(service)} for name, service in services().items()}
    assert documented_ports() == {name: ports for name, ports in actual.items() if ports}


def test_the_worker_reads_its_api_token_from_the_env_file_and_the_example_shows_it() -> None:
    worker = services()["worker"]
    assert worker["env_file"] == [{"path": ".env", "required": True}]
    assert "HEALTHSCORE_API_TOKEN" not in environment(worker), "a token written in docker-compose.yml is no secret"
    example = (ROOT / ".env.example").read_text()
    variables = re.findall(r"^(\w+)=", example, re.MULTILINE)
    assert "HEALTHSCORE_API_TOKEN" in variables
    prefix = Settings.model_config["env_prefix"]
    assert all(v.startswith(prefix) and v.removeprefix(prefix).lower() in Settings.model_fields for v in variables)
    # The real file holds the secret: never committed, never copied into the image.
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_every_dependency_is_a_defined_service() -> None:
    defined = set(services())
    for name, service in services().items():
        assert set(service.get("depends_on") or []) <= defined, f"{name} depends on an undefined service"


def test_every_healthscore_variable_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    prefix = Settings.model_config["env_prefix"]
    for name, service in services().items():
        for key in environment(service):
            if key.startswith(prefix):
                assert key.removeprefix(prefix).lower() in fields, f"{name}: {key} is not a Settings field"


def test_the_image_runs_the_worker() -> None:
    cmd = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD")]
    assert len(cmd) == 1
    assert json.loads(cmd[0].removeprefix("CMD").strip()) == ["healthscore", "worker"]


def test_the_file_is_valid_against_the_compose_specification() -> None:
    # check-jsonschema ships the Compose Specification's JSON Schema, so this needs no network.
    checker = Path(sys.executable).parent / "check-jsonschema"
    checked = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_topics_get_the_partition_count_the_worker_expects() -> None:
    partitions = re.findall(r"--partitions\s+(\d+)", command_text(services()["kafka-init"]))
    assert partitions and set(partitions) == {environment(services()["worker"])["HEALTHSCORE_PARTITIONS"]}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def is_bind(source: str) -> bool:
    """Short syntax: a path (`./ops/...`, `/abs`, `~/...`) is a bind mount, a bare name a named volume."""
    return source.startswith((".", "/", "~"))


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (short syntax, relative to the compose file)."""
    found = {}
    for volume in service.get("volumes", []):
        host, container = str(volume).split(":")[:2]
        if is_bind(host):
            found[container] = (COMPOSE_FILE.parent / host).resolve()
    return found


def named_volumes(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> named volume of a service (short syntax)."""
    pairs = (str(volume).split(":")[:2] for volume in service.get("volumes", []))
    return {container: source for source, container in pairs if not is_bind(source)}


def test_every_mounted_file_exists() -> None:
    for name, service in services().items():
        for container, host in mounts(service).items():
            assert host.exists(), f"{name} mounts {host} (at {container}), which does not exist"


def test_prometheus_runs_the_checked_config_and_alert_rules() -> None:
    prometheus = services()["prometheus"]
    files = mounts(prometheus)
    config_path = next(arg.split("=", 1)[1] for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert files[config_path] == (ROOT / "ops/prometheus/prometheus.yml").resolve()
    config = yaml.safe_load(files[config_path].read_text())
    for rule_file in config["rule_files"]:  # relative to the config file, as Prometheus reads them
        in_container = str(PurePosixPath(config_path).parent / rule_file)
        assert files[in_container] == (ROOT / "ops/prometheus/alerts.yml").resolve()


def test_prometheus_finds_every_worker_replica_on_the_web_port() -> None:
    config = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "healthscore"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"] and discovery["type"] == "A"
    assert str(discovery["port"]) == environment(services()["worker"])["HEALTHSCORE_WEB_PORT"]


def test_grafana_is_provisioned_with_the_dashboard_and_the_prometheus_data_source() -> None:
    files = mounts(services()["grafana"])
    provisioning = files["/etc/grafana/provisioning"]
    (provider,) = yaml.safe_load((provisioning / "dashboards/healthscore.yml").read_text())["providers"]
    dashboards = files[provider["options"]["path"]]
    assert (dashboards / "healthscore.json").is_file()
    (source,) = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090" and "prometheus" in services()


def test_the_worker_scores_the_replayed_sample_at_event_time() -> None:
    # With the wall clock the 2025 sample is a year old today: every customer would come out at risk.
    env = environment(services()["worker"])
    assert env["HEALTHSCORE_CLOCK"] == "event"
    assert Settings.model_construct().clock == "wall"  # live traffic keeps the default


def test_the_replay_is_paced_no_faster_than_the_demo() -> None:
    command = services()["replay"]["command"]
    assert command[:3] == ["healthscore", "produce", "data/sample_events.jsonl"]
    assert (ROOT / command[2]).is_file() and "COPY data ./data" in DOCKERFILE.read_text()
    rate = float(command[command.index("--rate") + 1])
    (demo_rate,) = [param.default for param in demo.params if param.name == "rate"]
    assert 0 < rate <= demo_rate


def test_kafka_and_redis_keep_their_data_in_declared_named_volumes() -> None:
    declared = set(compose().get("volumes") or {})
    kafka, redis = services()["kafka"], services()["redis"]
    log_dirs = environment(kafka)["KAFKA_LOG_DIRS"]
    assert log_dirs in named_volumes(kafka), "Kafka writes its topics outside its volume"
    assert "/data" in named_volumes(redis)
    assert "--appendonly yes" in command_text(redis), "Redis keeps nothing in /data without it"
    used = {volume for service in services().values() for volume in named_volumes(service).values()}
    assert used == declared, f"used {used}, declared {declared}"

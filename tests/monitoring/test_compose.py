"""docker-compose.yml as an operator runs it: the services the runbook names, pinned images, health
checks, start order, every variable documented in .env.example, and the files it mounts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
RUNBOOK_SERVICES = ["mysql", "kafka", "connect", "flink-jobmanager", "flink-taskmanager",
                    "prometheus", "alertmanager", "grafana", "redis", "bot"]
# The bot's environment contract (DESIGN.md), documented for operators in .env.example.
BOT_VARIABLES = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
                 "INCIDENT_CHANNEL", "APPROVERS", "ALERT_WEBHOOK_TOKEN", "REDIS_URL", "MYSQL_URL",
                 "CONNECT_URL", "FLINK_URL", "DOCKER_HOST", "PIPELINE_FILE", "BOT_HOST", "BOT_PORT",
                 "DISPLAY_TZ", "ALERTMANAGER_URL"]


def one_shot(service: dict) -> bool:
    return service.get("restart") == "no"


def env_example() -> tuple[set[str], set[str]]:
    """(variables assigned, variables only shown commented out) in .env.example."""
    text = (ROOT / ".env.example").read_text()
    active = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M))
    return active, set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", text, re.M)) - active


def test_runbook_services_exist() -> None:
    assert set(RUNBOOK_SERVICES) <= set(SERVICES)


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        if "build" in service and "image" not in service:
            continue
        image = service["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert (tag and tag != "latest") or "@sha256:" in image, f"{name}: pin {image}"


def test_long_running_services_have_healthchecks() -> None:
    for name, service in SERVICES.items():
        assert one_shot(service) or "test" in service.get("healthcheck", {}), f"{name}: healthcheck"
        assert one_shot(service) or service.get("restart") == "unless-stopped", f"{name}: restart"


def test_start_order_waits_on_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for target, spec in service.get("depends_on", {}).items():
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits on {target}'s health"
            else:
                assert condition == "service_completed_successfully" and one_shot(SERVICES[target]), name


def test_one_shot_inits_exist() -> None:
    assert {"fetch-jars", "connect-init", "flink-sql-init"} <= {n for n, s in SERVICES.items() if one_shot(s)}


def test_env_example_lists_every_variable_compose_reads() -> None:
    active, commented = env_example()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", COMPOSE_TEXT))
    passed_through = {e for s in SERVICES.values() if isinstance(s.get("environment"), list)
                      for e in s["environment"] if "=" not in e}
    from_secrets = {s["environment"] for s in COMPOSE.get("secrets", {}).values() if "environment" in s}
    assert interpolated | from_secrets <= active
    assert passed_through <= active | commented


def test_env_example_documents_the_bot_contract() -> None:
    active, commented = env_example()
    assert set(BOT_VARIABLES) <= active | commented
    # Set-but-empty SLACK_APP_TOKEN would mean Socket Mode: it must not be assigned by default.
    assert "SLACK_APP_TOKEN" in commented


def test_bot_service_reaches_the_stack_by_service_name() -> None:
    bot = SERVICES["bot"]
    assert bot["build"]["dockerfile"] == "Dockerfile"
    env = dict(e.split("=", 1) for e in bot["environment"] if "=" in e)
    assert env["BOT_HOST"] == "0.0.0.0" and env["BOT_PORT"] == "3000"
    for url, service in [("REDIS_URL", "redis"), ("MYSQL_URL", "mysql"), ("CONNECT_URL", "connect"),
                         ("FLINK_URL", "flink-jobmanager"), ("ALERTMANAGER_URL", "alertmanager")]:
        assert f"@{service}:" in env[url] or f"//{service}:" in env[url], url


def test_bind_mounts_exist() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def test_alertmanager_token_secret_is_wired_end_to_end() -> None:
    am_config = yaml.safe_load((ROOT / "monitoring/alertmanager/alertmanager.yml").read_text())
    path = am_config["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]["credentials_file"]
    secret = Path(path).name
    assert secret in SERVICES["alertmanager"]["secrets"]
    assert COMPOSE["secrets"][secret]["environment"] == "ALERT_WEBHOOK_TOKEN"
    assert "ALERT_WEBHOOK_TOKEN" in SERVICES["bot"]["environment"]


def test_scrape_targets_match_the_exporter_ports() -> None:
    prom = yaml.safe_load((ROOT / "monitoring/prometheus/prometheus.yml").read_text())
    targets = json.dumps(prom["scrape_configs"])
    agent_port = re.search(r"javaagent:\S+=(\d+):", SERVICES["connect"]["environment"]["KAFKA_OPTS"])
    assert agent_port and f"connect:{agent_port.group(1)}" in targets
    reporter = re.search(r"metrics.reporter.prom.port: (\d+)", SERVICES["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"])
    assert reporter and f"flink-jobmanager:{reporter.group(1)}" in targets
    assert '"bot"' in targets and "3000" in targets


def test_connector_config_has_no_literal_secret_and_matches_the_lineage() -> None:
    path = ROOT / "deploy/connect/mysql-oltp-orders.json"
    config = json.loads(path.read_text())
    assert config["name"] == path.stem
    password = re.fullmatch(r"\$\{(env|file):([^}]+)\}", config["database.password"])
    assert password, "database.password must come from a ConfigProvider"
    connect_env = SERVICES["connect"]["environment"]
    if password.group(1) == "env":
        assert password.group(2) in connect_env and connect_env["CONNECT_CONFIG_PROVIDERS"] == "env"
    lineage = yaml.safe_load((ROOT / "config/pipelines.yml").read_text())["pipelines"]
    table = config["table.include.list"]
    pipeline = next(p for p in lineage if table in p["tables"])
    assert config["name"] in pipeline["connectors"]
    assert f"{config['topic.prefix']}.{table}" in pipeline["topics"]
    sql = (ROOT / "deploy/flink/orders-enrichment.sql").read_text()
    assert f"'topic' = '{config['topic.prefix']}.{table}'" in sql
    job = re.search(r"SET 'pipeline.name' = '([^']+)'", sql)
    assert job and job.group(1) in pipeline["flink_jobs"]


def test_dockerfile_runs_the_bot_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert "EXPOSE 3000" in text and "/healthz" in text
    assert re.search(r'^CMD \["dataflow-bot", "serve"\]$', text, re.M)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for item in source.split():
            assert (ROOT / item).exists(), f"Dockerfile copies missing {item}"


def test_deploy_scripts_parse() -> None:
    for script in sorted((ROOT / "deploy").rglob("*.sh")):
        shell = "bash" if script.read_text().startswith("#!/bin/bash") else "sh"
        result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{script}: {result.stderr}"

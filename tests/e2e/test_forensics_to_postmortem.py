"""With a binlog, the thread shows the ALTER that caused the drift, and the postmortem names it as the root cause."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import wait_thread
from tests.harness import REPO, WEBHOOK_TOKEN, BotProcess
from tests.schema.conftest import binlog_db, binlog_server, create_orders, run_sql  # noqa: F401  (fixtures)


def test_the_drift_ddl_goes_from_the_binlog_to_the_thread_and_the_postmortem(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, binlog_server: int, binlog_db: str,  # noqa: F811
        tmp_path: Path) -> None:
    create_orders(binlog_db, port=binlog_server)
    lineage = yaml.safe_load((REPO / "config" / "pipelines.yml").read_text())
    lineage["pipelines"][0]["tables"] = [f"{binlog_db}.orders"]
    (tmp_path / "pipelines.yml").write_text(yaml.safe_dump(lineage))
    contract = (REPO / "schemas" / "oltp" / "orders.yml").read_text().replace("oltp.orders", f"{binlog_db}.orders")
    (tmp_path / "schemas" / binlog_db).mkdir(parents=True)
    (tmp_path / "schemas" / binlog_db / "orders.yml").write_text(contract)
    ddl = "ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL"
    run_sql(ddl, binlog_db, port=binlog_server)
    bot = start_bot(PIPELINE_FILE=str(tmp_path / "pipelines.yml"), SCHEMA_CONTRACTS_DIR=str(tmp_path / "schemas"),
                    MYSQL_URL=f"mysql://root@127.0.0.1:{binlog_server}/")
    post(bot.url, notification(alert("SchemaDriftDetected", table=f"{binlog_db}.orders")))
    replies = wait_thread(slack, "*Schema*")
    schema = next(r["text"] for r in replies if "*Schema*" in r["text"])
    assert "DDL from the binlog" in schema and ddl in schema and "binlog.0" in schema
    markdown = httpx.get(bot.url + "/incidents/INC-1/postmortem.md", timeout=30,
                         headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}).text
    root_cause = markdown.split("## Root cause", 1)[1].split("\n## ", 1)[0]
    assert ddl in root_cause and "UTC" in root_cause

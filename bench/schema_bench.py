"""P4: `/dataflow schema` on a 1,000-column table vs the bare information_schema query, same run.

A table of its own (database bench_p4_<random>, dropped at the end) with N columns, a baseline taken
with `/dataflow schema <t> baseline`, then a drift (one column added, one retyped). Timed, median of
--repeat runs each:
  command = a signed `/dataflow schema <t>` to the real bot -> its answer (in the ack, or its
            response_url POST arriving at the emulator); includes the binlog forensics walk
  query   = connect + the information_schema.COLUMNS query for that table, from this process
  diff    = bot.schema.diff.diff_schemas on N columns vs on N/10 columns (linear: ~10x; quadratic: ~100x)

Run: .venv/bin/python -m bench.schema_bench [--columns 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pymysql
import yaml

from bench.ack_latency import Requests, signed_headers
from bench.common import DEFAULT_REDIS_URL, fresh_redis, median_seconds
from bot.sandbox.slack_emulator import SlackEmulator
from bot.schema.diff import diff_schemas
from bot.schema.model import TableSchema
from bot.schema.reader import read_table
from tests.conftest import free_port
from tests.harness import SIGNING_SECRET, BotProcess, bot_env

TYPES = ("INT", "BIGINT", "DATE", "DECIMAL(10,2)")   # small fixed-size types: 1,000 fit in one InnoDB row
INLINE_GRACE_S = 5.0   # an ack-borne answer is final if no response_url POST follows within this
COLUMNS_QUERY = ("SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_KEY "
                 "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s ORDER BY ORDINAL_POSITION")


def mysql(database: str | None = None, autocommit: bool = False) -> pymysql.Connection[Any]:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=database,
                           autocommit=autocommit, connect_timeout=5, read_timeout=60, write_timeout=60)


def create_wide(db: str, n: int) -> None:
    columns = ", ".join(f"c{i:04d} {TYPES[i % len(TYPES)]} NULL" for i in range(1, n))
    conn = mysql(autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.wide (id BIGINT PRIMARY KEY, {columns}) ROW_FORMAT=DYNAMIC")
    conn.close()


def run_sql(sql: str) -> None:
    conn = mysql(autocommit=True)
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def bare_query(db: str) -> int:
    conn = mysql("information_schema")
    with conn.cursor() as cur:
        cur.execute(COLUMNS_QUERY, (db, "wide"))
        rows = len(cur.fetchall())
    conn.close()
    return rows


def ask(url: str, reqs: Requests, text: str, timeout: float = 60) -> tuple[float, str]:
    """(seconds to the answer, its text). The answer is the bot's POST to the response_url (the ack may
    carry a "Working on it" placeholder first); an ack-borne text counts only if no POST follows."""
    body, content_type = reqs.command(text)
    rid, started = reqs.last_response_id, time.monotonic()
    response = httpx.post(url, content=body, headers=signed_headers(body, content_type), timeout=timeout)
    acked = time.monotonic()
    inline = response.json().get("text") if response.content and "json" in response.headers.get("content-type", "") \
        else None
    while time.monotonic() < started + timeout:
        if (at := reqs.answered_at(rid)) is not None:
            call = next(c for c in reqs.emu.calls("response_url") if c.target == rid)
            return at - started, str(call.args.get("text", ""))
        if inline and time.monotonic() > acked + INLINE_GRACE_S:
            return acked - started, str(inline)
        time.sleep(0.005)
    raise TimeoutError(f"no answer to /dataflow {text} within {timeout:.0f} s")



def diff_scaling(db: str, repeat: int) -> dict[str, Any]:
    conn = mysql()
    live = read_table(conn, db, "wide")
    conn.close()
    assert live is not None
    small = replace(live, columns=live.columns[: len(live.columns) // 10])

    def drifted(schema: TableSchema) -> TableSchema:   # the last column retyped: every name is looked up
        last = schema.columns[-1]
        return replace(schema, columns=(*schema.columns[:-1], replace(last, type="varchar(10)")))

    full_s = median_seconds(repeat, lambda: diff_schemas(live, drifted(live)))
    small_s = median_seconds(repeat, lambda: diff_schemas(small, drifted(small)))
    return {"columns": len(live.columns), "diff_ms": round(full_s * 1000, 2),
            "diff_tenth_ms": round(small_s * 1000, 3), "ratio_full_vs_tenth": round(full_s / small_s, 1)}


def run(n: int, repeat: int, redis_url: str) -> dict[str, Any]:
    db = f"bench_p4_{secrets.token_hex(4)}"
    create_wide(db, n)
    scratch = Path(tempfile.mkdtemp(prefix="bench-schema-"))
    (scratch / "pipelines.yml").write_text(yaml.safe_dump({"pipelines": [
        {"name": "wide", "tables": [f"{db}.wide"], "connectors": ["wide-conn"], "flink_jobs": ["wide-job"]}]}))
    try:
        with SlackEmulator(signing_secret=SIGNING_SECRET) as emu:
            bot = BotProcess(bot_env(fresh_redis(redis_url), emu.api_url, free_port(), LOG_LEVEL="WARNING",
                                     MYSQL_URL="mysql://root:@127.0.0.1:3306/",
                                     PIPELINE_FILE=str(scratch / "pipelines.yml"))).start()
            url, reqs = bot.url + "/slack/events", Requests(emu)
            emu.request_url = url
            try:
                _, taken = ask(url, reqs, f"schema {db}.wide baseline")
                run_sql(f"ALTER TABLE `{db}`.wide ADD COLUMN drift_extra INT NULL, MODIFY c0002 BIGINT NULL")
                _, answer = ask(url, reqs, f"schema {db}.wide")         # warm-up, and what it says
                command = [ask(url, reqs, f"schema {db}.wide")[0] for _ in range(repeat)]
            finally:
                bot.stop()
        query = median_seconds(repeat, lambda: bare_query(db))
        scaling = diff_scaling(db, repeat)
    finally:
        run_sql(f"DROP DATABASE IF EXISTS `{db}`")
    cmd = statistics.median(command)
    return {"columns": n, "repeat": repeat, "baseline_answer": taken[:120], "answer_head": answer[:200],
            "command_ms": round(cmd * 1000, 1), "query_ms": round(query * 1000, 1),
            "ratio_command_vs_query": round(cmd / query, 1), "diff": scaling}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    if not 20 <= args.columns <= 4000:
        parser.error("--columns: 20 to 4000 (MariaDB allows 4096 per table)")
    print(json.dumps(run(args.columns, args.repeat, args.redis_url), indent=2))


if __name__ == "__main__":
    main()

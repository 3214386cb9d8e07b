"""MariaDB 10.11 (the machine's own binaries): a private mariadbd with its own datadir, socket and port,
ROW binlog for Debezium. Every `up` seeds oltp.orders (idempotent) and re-applies users and passwords."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from stacklib.common import StackError, run, sql_str, which_or
from stacklib.layout import DIRS, LOGS, MYSQL_DATA, MYSQL_SOCKET, TMP
from stacklib.probes import mysql_greets
from stacklib.proc import Proc
from stacklib.settings import HOST, PORTS, SEED_SQL

SERVER_OPTIONS = ["--binlog-format=ROW", "--binlog-row-image=FULL", "--server-id=1", "--expire-logs-days=7",
                  "--default-time-zone=+00:00", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
                  "--max-connections=100", "--character-set-server=utf8mb4",
                  "--collation-server=utf8mb4_general_ci"]


def users_sql(secret: dict[str, str]) -> str:
    """root over TCP (drills), debezium (the grants Debezium needs), dataflow_bot (as
    deploy/mysql/init/20-dataflow-users.sh)."""
    root, dbz, bot = (sql_str(secret[k]) for k in ("MYSQL_ROOT_PASSWORD", "MYSQL_DEBEZIUM_PASSWORD",
                                                   "MYSQL_BOT_PASSWORD"))
    return f"""
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY {root};
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY {root};
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY {dbz};
ALTER USER 'debezium'@'%' IDENTIFIED BY {dbz};
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
CREATE USER IF NOT EXISTS 'dataflow_bot'@'%' IDENTIFIED BY {bot};
ALTER USER 'dataflow_bot'@'%' IDENTIFIED BY {bot};
GRANT SELECT, ALTER ON oltp.* TO 'dataflow_bot'@'%';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'dataflow_bot'@'%';
FLUSH PRIVILEGES;
"""


def sql_as_root(text: str, password: str, *, table: bool = False) -> subprocess.CompletedProcess:
    """Run SQL over the socket as root; the password goes through MYSQL_PWD, never argv."""
    fmt = ["--table"] if table else ["--batch", "--skip-column-names"]
    return run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCKET}", "-uroot", *fmt],
               input_text=text, env={"MYSQL_PWD": password}, check=False)


class MariaDB(Proc):
    def __init__(self) -> None:
        super().__init__("mariadb", [PORTS["mysql"]], f"mysql://{HOST}:{PORTS['mysql']}/", LOGS / "mariadb.log")

    def prepare(self) -> None:
        """A fresh datadir (mariadb-install-db) when there is none."""
        TMP.mkdir(parents=True, exist_ok=True)
        if (MYSQL_DATA / "mysql").is_dir():
            return
        if MYSQL_DATA.exists():
            shutil.rmtree(MYSQL_DATA)
        MYSQL_DATA.mkdir(parents=True)
        cmd = ["mariadb-install-db", "--no-defaults", f"--datadir={MYSQL_DATA}",
               "--auth-root-authentication-method=normal", "--skip-test-db", *_as_root()]
        run(cmd, log=self.log)

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        cmd = [which_or("mariadbd", "/usr/sbin/mariadbd") or "mariadbd", "--no-defaults",
               f"--datadir={MYSQL_DATA}", f"--port={PORTS['mysql']}", f"--bind-address={HOST}",
               f"--socket={MYSQL_SOCKET}", f"--pid-file={DIRS['mariadb'] / 'mariadbd.pid'}",
               f"--tmpdir={TMP}", f"--log-bin={MYSQL_DATA / 'mysql-bin'}", *SERVER_OPTIONS, *_as_root()]
        return cmd, {}, DIRS["mariadb"]

    def healthy(self) -> bool:
        return mysql_greets(PORTS["mysql"])

    def bootstrap(self, secret: dict[str, str]) -> str:
        """Root password, the seed table (scripts/sql/oltp_orders.sql), the service accounts."""
        root = secret["MYSQL_ROOT_PASSWORD"]
        _set_root_password(root)
        out = sql_as_root(SEED_SQL.read_text() + "\n" + users_sql(secret) + _drop_other_roots(root), root)
        if out.returncode != 0:
            raise StackError(f"seeding MariaDB failed: {out.stderr.strip()[:400]}")
        rows = sql_as_root("SELECT COUNT(*) FROM oltp.orders;", root).stdout.strip()
        return f"oltp.orders has {rows} rows; users debezium, dataflow_bot"


def _as_root() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def _set_root_password(root: str) -> None:
    """A fresh datadir's root has no password yet: give it the stack's."""
    probe = sql_as_root("SELECT 1;", root)
    if probe.returncode == 0:
        return
    if sql_as_root(f"ALTER USER 'root'@'localhost' IDENTIFIED BY {sql_str(root)};", "").returncode != 0:
        raise StackError(f"cannot log in as root on {MYSQL_SOCKET}: {probe.stderr.strip()[:300]}")


def _drop_other_roots(root: str) -> str:
    """mariadb-install-db also made root@<hostname> and root@::1 without a password: drop them."""
    extra = sql_as_root("SELECT host FROM mysql.user WHERE user='root' AND host NOT IN ('localhost','127.0.0.1');",
                        root)
    return "".join(f"DROP USER IF EXISTS 'root'@{sql_str(h)};\n" for h in extra.stdout.split() if h)

#!/usr/bin/env python3
"""Local real stack of the CDC pipeline, without Docker:

    MariaDB (binlog ROW) -> Debezium MySQL 3.0.7 on Kafka Connect 3.9.0 -> Tansu (Kafka API)
      -> Flink 2.3.0 job cdc-orders-enrich, watched by Prometheus + Alertmanager (-> the bot's /alerts)

    python3 scripts/stack/stack.py install   # download/unpack everything into $STACK_DIR (idempotent)
    python3 scripts/stack/stack.py up        # start what is not running, wait for health (idempotent)
    python3 scripts/stack/stack.py status    # one line per piece: up/down, pid, URL   [--check] [--json]
    python3 scripts/stack/stack.py down      # stop everything it started, verify no pid/port is left
    python3 scripts/stack/stack.py job submit|cancel [--replace] [--restart-attempts N] [--restart-delay-ms MS]
    python3 scripts/stack/stack.py sql "SELECT 1"   # SQL as root on the stack's MariaDB (or -e, or stdin)
    python3 scripts/stack/stack.py env       # print $STACK_DIR/stack.env

Standard library only (runs with the system python3 before the project venv exists). All state lives
in STACK_DIR (default <repo>/.stack). This file is the command line; the work is in stacklib/, one
module per concern. Ports and options: scripts/stack/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:   # imported rather than run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from stacklib import install, job, lifecycle, status
from stacklib.common import StackError, say
from stacklib.credentials import read_secrets
from stacklib.layout import STACK_ENV
from stacklib.mariadb import sql_as_root
from stacklib.settings import FLINK_RESTART_ATTEMPTS, FLINK_RESTART_DELAY_MS, START_TIMEOUT


def cmd_install(_args: argparse.Namespace) -> int:
    return install.install_all()


def cmd_up(_args: argparse.Namespace) -> int:
    return lifecycle.up()


def cmd_down(_args: argparse.Namespace) -> int:
    return lifecycle.down()


def cmd_status(args: argparse.Namespace) -> int:
    table, down = status.rows(lifecycle.pieces(read_secrets()))
    print(status.render(table, args.json))
    return 1 if args.check and down else 0


def cmd_job(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    try:
        if args.action == "cancel" or args.replace:
            cancelled = job.cancel(deadline)
            say(f"flink-job: cancelled {cancelled}" if cancelled else "flink-job: nothing to cancel")
        if args.action == "submit":
            say(f"flink-job: {job.submit(deadline, args.restart_attempts, args.restart_delay_ms)}")
    except StackError as exc:
        say(f"flink-job: FAILED: {exc}")
        return 1
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """SQL as root on the stack's MariaDB (socket; the password from secrets.env, never on argv)."""
    password = read_secrets()["MYSQL_ROOT_PASSWORD"]
    if not password:
        print("stack: no secrets.env yet: run `stack.py up`", file=sys.stderr)
        return 1
    text = args.execute if args.execute is not None else args.statement
    proc = sql_as_root(text if text is not None else sys.stdin.read(), password, table=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc.returncode


def cmd_env(_args: argparse.Namespace) -> int:
    if not STACK_ENV.exists():
        print(f"{STACK_ENV} does not exist: run `stack.py up`", file=sys.stderr)
        return 1
    sys.stdout.write(STACK_ENV.read_text())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="download and unpack every piece into STACK_DIR (idempotent)")
    sub.add_parser("up", help="start every piece not running, in parallel, and wait until healthy")
    sub.add_parser("down", help="stop every piece (TERM, then KILL) and verify nothing is left")
    st = sub.add_parser("status", help="one line per piece")
    st.add_argument("--json", action="store_true")
    st.add_argument("--check", action="store_true", help="exit 1 unless everything is up")
    jb = sub.add_parser("job", help="submit or cancel the Flink job")
    jb.add_argument("action", choices=["submit", "cancel"])
    jb.add_argument("--replace", action="store_true", help="cancel the running job first")
    jb.add_argument("--restart-attempts", type=int, default=FLINK_RESTART_ATTEMPTS)
    jb.add_argument("--restart-delay-ms", type=int, default=FLINK_RESTART_DELAY_MS)
    sq = sub.add_parser("sql", help="run SQL as root on the stack's MariaDB (argument, -e or stdin)")
    sq.add_argument("statement", nargs="?", help="SQL text (else -e, else stdin)")
    sq.add_argument("-e", "--execute", help="SQL text")
    sub.add_parser("env", help="print STACK_DIR/stack.env")
    return p


COMMANDS = {"install": cmd_install, "up": cmd_up, "down": cmd_down, "status": cmd_status, "job": cmd_job,
            "sql": cmd_sql, "env": cmd_env}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

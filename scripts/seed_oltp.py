#!/usr/bin/env python3
"""Create and seed the demo table oltp.orders on MYSQL_URL (default the local MariaDB). Idempotent.

    MYSQL_URL=mysql://root@127.0.0.1:3306/ python scripts/seed_oltp.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout, no install

from bot.errors import DataflowError
from bot.sandbox.stack import SEED_SQL, SandboxStack


def main() -> int:
    stack = SandboxStack(os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/"), "redis://unused/")
    try:
        stack.run_sql(SEED_SQL.read_text(encoding="utf-8"))
    except DataflowError as exc:
        print(exc.user_text(), file=sys.stderr)
        return 1
    print("oltp.orders is ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())

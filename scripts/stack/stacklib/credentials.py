"""Generated passwords and the webhook token: secrets.env (0600), created once; the environment overrides
all but the root password, which must stay what the datadir was set up with."""

from __future__ import annotations

import os
import secrets
import shlex

from stacklib.common import write_text
from stacklib.layout import SECRETS_FILE

SECRET_NAMES = ["MYSQL_ROOT_PASSWORD", "MYSQL_DEBEZIUM_PASSWORD", "MYSQL_BOT_PASSWORD", "ALERT_WEBHOOK_TOKEN"]
ENV_OVERRIDABLE = ("MYSQL_DEBEZIUM_PASSWORD", "MYSQL_BOT_PASSWORD", "ALERT_WEBHOOK_TOKEN")


def load_secrets() -> dict[str, str]:
    """The stack's secrets, generating (and storing) the missing ones."""
    stored = _read_file()
    missing = [name for name in SECRET_NAMES if not stored.get(name)]
    for name in missing:
        stored[name] = secrets.token_hex(16)
    if missing:
        write_text(SECRETS_FILE, "# Local stack credentials (generated; never commit, never log)\n"
                   + "".join(f"{k}={shlex.quote(stored[k])}\n" for k in SECRET_NAMES), 0o600)
    return _with_env(stored)


def read_secrets() -> dict[str, str]:
    """The stored secrets without creating any ('' when missing): for status and down."""
    stored = _read_file()
    return _with_env({name: stored.get(name, "") for name in SECRET_NAMES})


def _read_file() -> dict[str, str]:
    stored: dict[str, str] = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                stored[key] = shlex.split(value)[0] if value else ""
    return stored


def _with_env(stored: dict[str, str]) -> dict[str, str]:
    out = dict(stored)
    for name in ENV_OVERRIDABLE:
        if os.environ.get(name):
            out[name] = os.environ[name]
    return out

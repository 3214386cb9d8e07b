"""Where everything lives under STACK_DIR (tree in scripts/stack/README.md, "Layout of STACK_DIR")."""

from __future__ import annotations

from stacklib.settings import STACK_DIR

DIRS = {
    "cache_pip": STACK_DIR / "cache" / "pip",
    "cache_deb": STACK_DIR / "cache" / "deb",
    "broker": STACK_DIR / "broker",
    "connect": STACK_DIR / "connect",
    "flink": STACK_DIR / "flink",
    "mariadb": STACK_DIR / "mariadb",
    "prometheus": STACK_DIR / "prometheus",
    "alertmanager": STACK_DIR / "alertmanager",
    "logs": STACK_DIR / "logs",
    "run": STACK_DIR / "run",
    "tmp": STACK_DIR / "tmp",
}
LOGS = DIRS["logs"]
RUN = DIRS["run"]
TMP = DIRS["tmp"]
INSTALL_LOG = LOGS / "install.log"

TANSU_BIN = DIRS["broker"] / "bin" / "tansu"
CONNECT_LIBS = DIRS["connect"] / "libs"
CONNECT_JETTY = DIRS["connect"] / "jetty"
FLINK_VENV = DIRS["flink"] / "venv"
FLINK_CONF = DIRS["flink"] / "conf"
JOB_JAR = DIRS["flink"] / "job" / "cdc-orders-job.jar"
MYSQL_DATA = DIRS["mariadb"] / "data"
MYSQL_SOCKET = DIRS["mariadb"] / "mariadb.sock"
SECRETS_FILE = STACK_DIR / "secrets.env"
WEBHOOK_TOKEN_FILE = DIRS["alertmanager"] / "webhook_token"
STACK_ENV = STACK_DIR / "stack.env"
STACK_JSON = STACK_DIR / "stack.json"
INSTALL_JSON = STACK_DIR / "install.json"


def make_dirs() -> None:
    for path in DIRS.values():
        path.mkdir(parents=True, exist_ok=True)

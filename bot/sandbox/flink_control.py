"""The simulated JobManager's mutating endpoints: uploaded jars, run a jar (from a savepoint or checkpoint),
stop with a savepoint and its trigger status, cancel. Shapes and status codes as Flink 2.3.0 answered them
(tests/fixtures/captures/flink/control_*.json; tests/contract/test_flink_control_contract.py holds both to it).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, request

from bot.sandbox.flink_jobs import TERMINAL_STATES, SimCheckpoint
from bot.sandbox.flink_routes import JSON, check_job_id, error_response, stack_trace

if TYPE_CHECKING:
    from bot.sandbox.flink_sim import FlinkSimulator

_HANDLER = "org.apache.flink.runtime.rest.handler.RestHandlerException"
_NOT_FOUND = "org.apache.flink.runtime.messages.FlinkJobNotFoundException"
_FRAME = "org.apache.flink.runtime.webmonitor.handlers.JarRunHandler.handleRequest(JarRunHandler.java:112)"


@dataclass
class SimJar:
    id: str                         # <uuid>_<name>, as Flink stores an upload
    name: str
    uploaded: int
    entry_class: str


@dataclass
class Trigger:
    """A stop-with-savepoint operation: IN_PROGRESS on the first status read, then its result."""

    jid: str
    location: str | None
    failure: str | None
    reads: int = 0


@dataclass
class JobControl:
    sim: FlinkSimulator
    jars: dict[str, SimJar] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)   # POST /jars/<id>/run bodies, in order

    def upload_jar(self, name: str, entry_class: str = "com.dataflow.flink.CdcOrdersEnrichJob") -> str:
        jar = SimJar(f"{uuid.uuid4()}_{name}", name, self.sim._now_ms(), entry_class)
        self.jars[jar.id] = jar
        return jar.id

    def clear(self) -> None:
        self.jars.clear()
        self.triggers.clear()
        self.submissions.clear()

    def stop(self, jid: str) -> str:
        """Flink answers 202 with a trigger even for a job that ended or does not exist; the trigger fails."""
        trigger = uuid.uuid4().hex
        with self.sim._lock:
            job = self.sim._jobs.get(jid)
            if job is None or job.state != "RUNNING":
                self.triggers[trigger] = Trigger(jid, None, f"{_NOT_FOUND}: Could not find Flink job ({jid})")
                return trigger
            path = f"file:/flink/savepoints/savepoint-{jid[:6]}-{uuid.uuid4().hex[:12]}"
            cid = (job.checkpoints[0].id + 1) if job.checkpoints else 1
            now = self.sim._now_ms()
            job.checkpoints.insert(0, SimCheckpoint(cid, "COMPLETED", now - 30, now, 204, savepoint=True, path=path))
            job.move_to("FINISHED", now)
            self.triggers[trigger] = Trigger(jid, path, None)
        return trigger

    def run(self, jar: SimJar, body: dict[str, Any]) -> str | None:
        """The new job's id; None when its savepointPath is not a checkpoint or savepoint Flink has."""
        self.submissions.append(body)
        args = [str(a) for a in body.get("programArgsList") or []]
        name = args[args.index("--job-name") + 1] if "--job-name" in args[:-1] else jar.name.removesuffix(".jar")
        path = body.get("savepointPath")
        restored = self._checkpoint_at(str(path)) if path else None
        jid = self.sim.add_job(name, state="RUNNING" if restored is not None or not path else "FAILED")
        if path and restored is None:
            return None
        with self.sim._lock:
            job, now = self.sim._jobs[jid], self.sim._now_ms()
            if restored is not None:
                job.restored = {"id": restored.id, "restore_timestamp": now, "is_savepoint": restored.savepoint,
                                "external_path": path}
                job.restored_count = 1
            # The job checkpoints at once, its ids going on from the restored one (as Flink's do).
            job.checkpoints.insert(0, SimCheckpoint((restored.id if restored else 0) + 1, "COMPLETED", now - 20, now, 204))
        return jid

    def _checkpoint_at(self, path: str) -> SimCheckpoint | None:
        with self.sim._lock:
            for job in self.sim._jobs.values():
                for c in job.checkpoints:
                    if c.status == "COMPLETED" and (c.path or f"file:/flink/checkpoints/chk-{c.id}") == path:
                        return c
        return None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON)


def register_control(app: Flask, control: JobControl) -> None:
    sim = control.sim

    @app.get("/jars")
    def jars() -> Response:
        files = [{"id": j.id, "name": j.name, "uploaded": j.uploaded,
                  "entry": [{"name": j.entry_class, "description": None}]} for j in control.jars.values()]
        return _json({"address": sim.url, "files": files})

    @app.post("/jars/upload")
    def upload() -> Response:
        """Multipart, field `jarfile`; the answer names the stored file, whose name is the jar's id."""
        sent = request.files.get("jarfile")
        if sent is None or not (sent.filename or "").endswith(".jar"):
            return error_response(400, f"{_HANDLER}: Only Jar files are allowed.{stack_trace(_FRAME)}")
        jar_id = control.upload_jar(Path(sent.filename or "").name)
        return _json({"filename": f"/opt/flink/web-upload/flink-web-upload/{jar_id}", "status": "success"})

    @app.post("/jars/<jar_id>/run")
    def run_jar(jar_id: str) -> Response:
        jar = control.jars.get(jar_id)
        if jar is None:   # Flink: 500, an "Internal server error." entry and the server-side exception
            return error_response(500, "Internal server error.", f"<Exception on server side:\n{_HANDLER}: Jar file "
                                  f"/opt/flink/web-upload/flink-web-upload/{jar_id} does not exist{stack_trace(_FRAME)}\nEnd of exception on "
                                  "server side>")
        jid = control.run(jar, request.get_json(silent=True) or {})
        if jid is None:
            return error_response(400, f"{_HANDLER}: Could not execute application.{stack_trace(_FRAME)}")
        return _json({"jobid": jid, "applicationId": jid})

    @app.post("/jobs/<jid>/stop")
    def stop(jid: str) -> Response:
        check_job_id(jid)
        return _json({"request-id": control.stop(jid.lower())}, status=202)

    @app.get("/jobs/<jid>/savepoints/<trigger_id>")
    def savepoint_status(jid: str, trigger_id: str) -> Response:
        check_job_id(jid)
        trigger = control.triggers.get(trigger_id)
        if trigger is None or trigger.jid != jid.lower():
            abort(error_response(404, f"{_HANDLER}: There is no savepoint operation with triggerId={trigger_id} "
                                 f"for job {jid.lower()}.{stack_trace(_FRAME)}"))
        trigger.reads += 1
        if trigger.reads == 1:
            return _json({"status": {"id": "IN_PROGRESS"}, "operation": None})
        if trigger.failure:
            cause = {"class": "java.util.concurrent.CompletionException",
                     "stack-trace": f"java.util.concurrent.CompletionException: {trigger.failure}{stack_trace(_FRAME)}",
                     "serialized-throwable": ""}
            return _json({"status": {"id": "COMPLETED"}, "operation": {"failure-cause": cause}})
        return _json({"status": {"id": "COMPLETED"}, "operation": {"location": trigger.location}})

    @app.patch("/jobs/<jid>")
    def job_terminate(jid: str) -> Response:
        job = sim._job_for_request(jid)
        mode = request.args.get("mode", "cancel")
        if mode not in ("cancel", "stop"):
            return error_response(400, f"{_HANDLER}: Bad request, could not parse parameters: Cannot resolve query "
                                  f'parameter (mode) from value "{mode}".' + stack_trace(_FRAME))
        if job.state in TERMINAL_STATES:   # Flink 2.3.0: 409
            return error_response(409, f"{_HANDLER}: Job cancellation failed because the job has already reached "
                                  f"another terminal state ({job.state}).{stack_trace(_FRAME)}")
        sim.set_state(job.jid, "CANCELED")
        return _json({}, status=202)

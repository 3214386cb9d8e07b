"""Mutating Flink actions of the flink-restarting runbook: stop with a savepoint, resubmit from a savepoint
or the latest retained checkpoint, cancel.

Each plans the exact HTTP call; the approval binds to that text. Execution re-plans (bot/runbooks/execute.py)
and so re-checks the job: a job that is no longer in a state where the action makes sense voids the approval.
"""

from __future__ import annotations

import json
import time

from bot.blocks.common import escape
from bot.clients.flink import JOB_ID
from bot.clients.flink_control import FlinkControl, JarFile, JobState, poll_until
from bot.errors import ApprovalError, ConfigError
from bot.models import Incident, TimelineEvent
from bot.pipeline import FlinkSubmission
from bot.runbooks.actions import Outcome, Plan, action
from bot.runbooks.context import StepContext
from bot.urls import without_userinfo

SAVEPOINT_TIMEOUT_S = 120.0
STATE_TIMEOUT_S = 90.0
RESTORED_TIMEOUT_S = 15.0
SAVEPOINT_NOTE = "flink_savepoint"


def _control(ctx: StepContext) -> FlinkControl:
    settings = ctx.deps.settings
    if not settings.flink_url:
        raise ConfigError(["FLINK_URL is not set: the bot cannot reach Flink"])
    return FlinkControl(settings.flink_url, timeout=settings.enrich_timeout_seconds)


def _url(ctx: StepContext) -> str:
    return without_userinfo(ctx.deps.settings.flink_url or "").rstrip("/")


def _newest_live(client: FlinkControl, job: str) -> JobState:
    """The job by id, or the newest live job of that name; refused when there is none."""
    if JOB_ID.match(job):
        return client.job_state(job)
    live = client.live_jobs(job)
    if not live:
        raise ApprovalError(f"Refused: no live Flink job named `{escape(job)}` (it is stopped, cancelled or "
                            "finished already).")
    return live[0]


# -- stop with a savepoint ---------------------------------------------------------------------------
def plan_stop(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _control(ctx) as client:
        job = _newest_live(client, params["job"])
    if job.state != "RUNNING":
        raise ApprovalError(f"Refused: `{escape(job.name)}` ({job.jid}) is {job.state}; stop-with-savepoint needs "
                            "a RUNNING job.", "Use `cancel-job` instead (then restart from its latest checkpoint).")
    spec = ctx.deps.lineage.submission_for(job.name)
    target = spec.savepoint_dir if spec else None
    body = {"drain": False, **({"targetDirectory": target} if target else {})}
    where = f"`{escape(target)}`" if target else "the cluster's default savepoint directory"
    return Plan(f"Stop Flink job `{escape(job.name)}` ({job.jid}) with a savepoint into {where}",
                f"POST {_url(ctx)}/jobs/{job.jid}/stop {json.dumps(body, sort_keys=True)}",
                [f"now: {job.state}", f"savepoint target: {where}"],
                {"jid": job.jid, "name": job.name, "target": target or ""})


@action("flink.stop_with_savepoint", mutating=True, plan=plan_stop)
def stop_with_savepoint(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    jid, name = plan.data["jid"], plan.data["name"]
    with _control(ctx) as client:
        trigger = client.stop_with_savepoint(jid, plan.data["target"] or None)
        path = client.wait_savepoint(jid, trigger, SAVEPOINT_TIMEOUT_S)
        record_savepoint(ctx, ctx.incident, jid, name, path)
        final = client.wait_state(jid, frozenset({"FINISHED"}), STATE_TIMEOUT_S)
    ok = final.state == "FINISHED"
    mark = ":white_check_mark:" if ok else ":x:"
    return Outcome(ok, f"{mark} `{escape(name)}` ({jid}) stopped with savepoint `{escape(path)}`; the job is "
                       f"*{final.state}*." + ("" if ok else " It should have ended FINISHED: check it by hand."))


def record_savepoint(ctx: StepContext, inc: Incident, jid: str, name: str, path: str) -> None:
    """On the timeline, for the restart step (and the postmortem): which job's state is where."""
    ctx.deps.store.add_event(inc.id, TimelineEvent(
        ts=time.time(), kind="note", actor="bot", key=True, source_id=f"{SAVEPOINT_NOTE}:{jid}",
        text=f"savepoint of Flink job `{name}` ({jid}): {path}",
        data={SAVEPOINT_NOTE: path, "jid": jid, "job": name}))


def recorded_savepoint(ctx: StepContext, jid: str) -> str | None:
    """The savepoint the stop step recorded on this incident for job `jid`, if any."""
    notes = [e for e in ctx.deps.store.events(ctx.incident.id)
             if e.kind == "note" and e.data.get(SAVEPOINT_NOTE) and e.data.get("jid") == jid]
    return str(notes[-1].data[SAVEPOINT_NOTE]) if notes else None


# -- resubmit from a savepoint or the latest retained checkpoint -----------------------------------------
def plan_restart(ctx: StepContext, params: dict[str, str]) -> Plan:
    name = params["job"]
    spec = ctx.deps.lineage.submission_for(name)
    if spec is None:
        raise ApprovalError(f"Refused: the bot does not know how `{escape(name)}` is submitted.",
                            "Add `flink_submit` for it (jar, entry_class, program_args, parallelism) to its "
                            "pipeline in PIPELINE_FILE.")
    with _control(ctx) as client:
        live = client.live_jobs(name)
        if live:
            raise ApprovalError(f"Refused: `{escape(name)}` is still live ({live[0].jid}, {live[0].state}); one "
                                "job per name.", "Stop it first: `stop-with-savepoint` or `cancel-job`.")
        jar = _jar(client, spec)
        kind, path = _restore_point(ctx, client, name)
    body = _run_body(spec, path)
    text = ctx.deps.redactor.text(f"POST {_url(ctx)}/jars/{jar.id}/run {json.dumps(body, sort_keys=True)}")
    return Plan(f"Resubmit Flink job `{escape(name)}` from its {kind}", text,
                [f"restore from {kind}: `{escape(path)}`", f"jar: `{escape(jar.id)}`"],
                {"name": name, "jar": jar.id, "kind": kind, "path": path})


def _jar(client: FlinkControl, spec: FlinkSubmission) -> JarFile:
    """The newest upload of the spec's jar; refused when the JobManager has none."""
    named = [j for j in client.jars() if j.name == spec.jar]
    if not named:
        raise ApprovalError(f"Refused: `{escape(spec.jar)}` is not uploaded on the JobManager (GET /jars).",
                            "Upload it (POST /jars/upload, or the web UI's Submit New Job), then ask again.")
    return max(named, key=lambda j: j.uploaded)


def _restore_point(ctx: StepContext, client: FlinkControl, name: str) -> tuple[str, str]:
    """(kind, path): the savepoint the stop step took of the newest job of this name, else that job's newest
    retained checkpoint or savepoint. Flink marks a checkpoint whose files it deleted `discarded` (after a
    stop-with-savepoint the last checkpoint is: observed on 2.3.0): never offered."""
    newest = next((j for j in client.jobs() if j.name == name), None)
    if newest is None:
        raise ApprovalError(f"Refused: the JobManager knows no job named `{escape(name)}` to restore from.")
    savepoint = recorded_savepoint(ctx, newest.jid)
    if savepoint:
        return "savepoint", savepoint
    latest = client.checkpoints(newest.jid).latest
    kept = [c for c in (latest.completed, latest.savepoint) if c is not None and c.external_path and not c.discarded]
    if not kept:
        raise ApprovalError(f"Refused: `{escape(name)}` ({newest.jid}, {newest.state}) has no retained checkpoint "
                            "or savepoint to restore.",
                            "Restarting without state would re-read the topic from the consumer group's offsets: "
                            "do it by hand if that is what you want.")
    chosen = max(kept, key=lambda c: c.id)
    return ("savepoint" if chosen.is_savepoint else "latest checkpoint"), str(chosen.external_path)


def _run_body(spec: FlinkSubmission, path: str) -> dict[str, object]:
    body: dict[str, object] = {"entryClass": spec.entry_class, "programArgsList": spec.program_args,
                               "savepointPath": path, "allowNonRestoredState": False}
    return {**body, "parallelism": spec.parallelism} if spec.parallelism is not None else body


@action("flink.restart", mutating=True, plan=plan_restart)
def restart_job(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    d = plan.data
    spec = ctx.deps.lineage.submission_for(d["name"])
    assert spec is not None   # the plan, re-made just now, found it
    with _control(ctx) as client:
        jid = client.run_jar(d["jar"], spec.entry_class, spec.program_args, spec.parallelism, d["path"])
        final = client.wait_state(jid, frozenset({"RUNNING"}), STATE_TIMEOUT_S)
        restored = _restored_from(client, jid) if final.state == "RUNNING" else None
    name, path = escape(d["name"]), escape(d["path"])
    if final.state != "RUNNING":
        return Outcome(False, f":x: `{name}` was resubmitted as {jid} but is *{final.state}*, not RUNNING.")
    if restored != d["path"]:
        return Outcome(False, f":warning: `{name}` is RUNNING as {jid}, but Flink reports it restored from "
                              f"`{escape(restored or 'nothing')}`, not `{path}`.")
    return Outcome(True, f":white_check_mark: `{name}` is RUNNING again as {jid}, restored from its "
                         f"{d['kind']} `{path}`.")


def _restored_from(client: FlinkControl, jid: str) -> str | None:
    """`latest.restored.external_path` of the new job (filled once its state was restored)."""
    found = poll_until(lambda: client.checkpoints(jid).latest.restored, lambda r: r is not None, RESTORED_TIMEOUT_S,
                       client.poll_seconds)
    return found.external_path if found else None


# -- cancel -----------------------------------------------------------------------------------------------
def plan_cancel(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _control(ctx) as client:
        job = _newest_live(client, params["job"])
    if job.state == "CANCELLING" or not job.live:
        raise ApprovalError(f"Refused: `{escape(job.name)}` ({job.jid}) is {job.state} already.")
    return Plan(f"Cancel Flink job `{escape(job.name)}` ({job.jid})",
                f"PATCH {_url(ctx)}/jobs/{job.jid}?mode=cancel", [f"now: {job.state}"],
                {"jid": job.jid, "name": job.name})


@action("flink.cancel", mutating=True, plan=plan_cancel)
def cancel_job(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    jid, name = plan.data["jid"], escape(plan.data["name"])
    with _control(ctx) as client:
        client.cancel(jid)
        final = client.wait_state(jid, frozenset({"CANCELED"}), STATE_TIMEOUT_S)
    if final.state != "CANCELED":
        return Outcome(False, f":x: `{name}` ({jid}) is *{final.state}* after {STATE_TIMEOUT_S:.0f} s, not CANCELED.")
    return Outcome(True, f":white_check_mark: `{name}` ({jid}) is *CANCELED*. `restart-from-savepoint` resubmits it "
                         "from its latest retained checkpoint.")

"""The Slack side of a step run, driven from its state: the request message (posted if missing, else edited
to say the state) and, once the run ended, its verdict line in the thread.

A failed Slack call never stops the state machine: the run stays in the sync set and the reconciler tries
again. Posts go through ThreadPoster.post_once, so a retry or another replica never posts a line twice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bot.blocks.runbook import approval_blocks, approval_text
from bot.incidents.poster import ThreadPoster
from bot.log import get_logger
from bot.models import Incident, TimelineEvent
from bot.runbooks.approvals import Approval, Approvals, approver_mentions

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)
VERDICTS = ("done", "failed", "void", "interrupted")   # states that say in the thread how the run ended
SYNC_LOCK_WAIT_SECONDS = 15.0


def sync_run(deps: Deps, approval_id: str) -> bool:
    """Make Slack show the run's current state. False when Slack failed: the reconciler retries later."""
    store = Approvals(deps.store.r)
    try:
        # One render at a time per run, so an older render can never land after a newer one.
        hold = deps.settings.slack_post_lock_seconds   # as long as a post may take; a dead holder delays this
        with deps.store.lock(f"sync:{approval_id}", ttl_s=hold, wait_s=min(hold, SYNC_LOCK_WAIT_SECONDS)):
            a = store.get(approval_id)
            inc = deps.store.incident(a.incident_id) if a else None
            if a is None or inc is None:
                store.forget_sync(approval_id)
                return True
            a = _sync_message(deps, store, inc, a)
            report_verdict(deps, inc, a)
            store.synced(a.id, a.version)
        return True
    except Exception as exc:  # Slack or Redis down, a lock held too long: all retried, none fatal
        log.warning("step run not synced with Slack; retried by the reconciler", approval=approval_id,
                    error=deps.redactor.text(repr(exc)))
        store.sync_later(approval_id, deps.settings.reconcile_interval_seconds)
        return False


def render(deps: Deps, a: Approval) -> tuple[str, list[dict[str, Any]]]:
    approvers = approver_mentions(deps.settings.approvers, a.requester)
    return approval_text(a, approvers), approval_blocks(a, deps.settings.display_tz, approvers)


def _sync_message(deps: Deps, store: Approvals, inc: Incident, a: Approval) -> Approval:
    if not a.message_ts:
        ts = ThreadPoster(deps).post_once(inc, f"approval:{a.id}", inc.root_ts, *render(deps, a))
        store.set_message_ts(a.id, ts)
        rendered, a = a.version, store.get(a.id) or a
        if a.version == rendered:   # nothing happened while the post was on its way
            return a
    text, blocks = render(deps, a)
    deps.slack.chat_update(channel=a.channel, ts=a.message_ts or "", text=text, blocks=blocks)
    return a


def report_verdict(deps: Deps, inc: Incident, a: Approval) -> None:
    """The run's one verdict line in the thread, and its result in the timeline, whoever reaches here first."""
    if a.state not in VERDICTS or not a.result:
        return
    ThreadPoster(deps).post_once(inc, f"verdict:{a.id}", inc.root_ts, a.result, None)
    deps.store.add_event(inc.id, TimelineEvent(
        ts=time.time(), kind="result", text=f"{a.step}: {a.state}", actor="bot", source_id=f"approval:{a.id}:result",
        data={"step": a.step, "ok": a.state == "done", "detail": a.result[:500], "approval_id": a.id,
              "outcome": a.state}))


def remind(deps: Deps, a: Approval) -> None:
    """A pending request announced once more in the thread (post_once: once across replicas)."""
    inc = deps.store.incident(a.incident_id)
    if inc is None or not inc.root_ts:
        return
    approvers = approver_mentions(deps.settings.approvers, a.requester) or "an approver"
    where = _link(deps, a) or "above in this thread"
    text = (f":bell: Still waiting for a decision: {a.summary} (`{a.step}`, requested by <@{a.requester}>). "
            f"{approvers}: please approve or deny it ({where}).")
    ThreadPoster(deps).post_once(inc, f"reminder:{a.id}", inc.root_ts, text, None)


def _link(deps: Deps, a: Approval) -> str | None:
    if not a.message_ts:
        return None
    try:
        link = deps.slack.chat_getPermalink(channel=a.channel, message_ts=a.message_ts)["permalink"]
    except Exception:  # the link is a nicety: without it the text says where to look
        return None
    return f"<{link}|the request>"


def where_is(deps: Deps, a: Approval) -> str:
    """A pointer to an open request, for the person who asked for the same action again."""
    return _link(deps, a) or "the request above in the thread"

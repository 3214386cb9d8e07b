"""Gathering the facts of a postmortem: the event log, the scope, live checks, names and permalink."""

from __future__ import annotations

import re

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.log import get_logger
from bot.models import Incident, TimelineEvent
from bot.postmortem.live import alert_check, baseline_check, connector_checks, job_checks
from bot.postmortem.model import Facts, LiveChecks
from bot.scope import incident_scope
from bot.store import PREFIX

log = get_logger(__name__)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})")


def slack_ready(deps: Deps) -> bool:
    return bool(deps.slack.token)


def people_of(deps: Deps, events: list[TimelineEvent]) -> dict[str, str]:
    """Display names of everyone in the log (actors, approvers, mentions), one users.info each; IDs stay when
    Slack cannot say. The mrkdwn renderer takes this map: it never looks a name up itself."""
    ids = {e.actor for e in events if e.actor and _USER_ID.match(e.actor)}
    # "user": the incident commander event; "detail": a step's result, which names who approved it.
    ids |= {str(v) for e in events for k in ("requester", "approver", "user") if (v := e.data.get(k))}
    ids |= {m for e in events for m in _MENTION.findall(f"{e.text}\n{e.data.get('detail', '')}")}
    names = {e.actor: e.actor_name for e in events if e.actor and e.actor_name}
    for user in sorted(ids - set(names)):
        if slack_ready(deps) and (name := _user_name(deps, user)):
            names[user] = name
    return names


USER_NAME_TTL_SECONDS = 3600   # names rarely change; every export asked Slack again for each person


def _user_name(deps: Deps, user: str) -> str | None:
    key = PREFIX + f"user-name:{user}"
    if cached := deps.store.r.get(key):
        return str(cached)
    try:
        found = deps.slack.users_info(user=user).get("user") or {}
    except (SlackApiError, OSError):
        return None
    profile = found.get("profile") or {}
    name = str(found.get("real_name") or profile.get("real_name") or found.get("name") or "") or None
    if name:
        deps.store.r.set(key, name, ex=USER_NAME_TTL_SECONDS)
    return name


def thread_permalink(deps: Deps, inc: Incident) -> str | None:
    """Asked once and kept: the link never changes, and every export must print the same one."""
    key = PREFIX + f"permalink:{inc.id}"
    if cached := deps.store.r.get(key):
        return str(cached)
    if not inc.root_ts or not slack_ready(deps):
        return None
    try:
        link = str(deps.slack.chat_getPermalink(channel=inc.channel, message_ts=inc.root_ts)["permalink"])
    except (SlackApiError, OSError, KeyError) as exc:
        log.warning("no permalink", incident=inc.id, error=type(exc).__name__)
        return None
    deps.store.r.set(key, link)
    return link


def gather_facts(deps: Deps, inc: Incident) -> Facts:
    events = deps.store.events(inc.id)
    scope = incident_scope(deps, inc)
    checks = LiveChecks(alert=alert_check(deps, inc), connectors=connector_checks(deps, scope.connectors, events),
                        jobs=job_checks(deps, scope.flink_jobs), baseline=baseline_check(deps, inc, scope, events))
    return Facts(incident=inc, events=events, scope=scope, checks=checks, display_tz=deps.settings.display_tz,
                 people=people_of(deps, events), permalink=thread_permalink(deps, inc),
                 alertmanager_url=deps.settings.alertmanager_url)

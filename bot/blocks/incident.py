"""The incident's root message and its one-line thread updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.blocks.common import context, escape, fmt_duration, fmt_time, header, section
from bot.blocks.links import Link, incident_links, link_bases, links_line
from bot.models import AlertState, Incident

if TYPE_CHECKING:
    from bot.config import Settings

SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def incident_metadata(incident_id: str, kind: str) -> dict[str, Any]:
    """Every bot message carries this, so a retry can find what was already posted."""
    return {"event_type": "dataflow_incident", "event_payload": {"incident_id": incident_id, "kind": kind}}


def root_text(inc: Incident) -> str:
    state = "RESOLVED" if inc.status == "resolved" else "FIRING"
    return f"[{state}] {inc.id} {inc.title}"


def root_blocks(inc: Incident, tz: str = "UTC", links: list[Link] | None = None) -> list[dict[str, Any]]:
    """The root: state, who leads it, what fired, and the links to follow (bot/blocks/links.py)."""
    icon = ":white_check_mark:" if inc.status == "resolved" else SEVERITY_ICON.get(inc.severity, ":rotating_light:")
    blocks = [header(f"{inc.id} {inc.title}"), section(f"{icon} " + "  ·  ".join(_state_lines(inc))),
              section(_alerts_text(inc))]
    if links:
        blocks.append(section(":link: " + links_line(links)))
    seen = (f"First seen {fmt_time(inc.opened_at, tz)} · last seen {fmt_time(inc.last_seen_at, tz)}"
            f" · {inc.notifications} notification(s)")
    am = f" · <{inc.external_url}|Alertmanager>" if inc.external_url.startswith("http") else ""
    blocks.append(context(seen + am, "Details and actions are in the thread :thread:"))
    return blocks


def _state_lines(inc: Incident) -> list[str]:
    firing, total = len(inc.firing), len(inc.alerts)
    status = (f"*Resolved* after {fmt_duration((inc.resolved_at or inc.last_seen_at) - inc.opened_at)}"
              if inc.status == "resolved" else f"*Firing*: {firing} of {total} alert(s)" if total else "*Open*")
    if inc.resolved_by_hand:
        status += f" by <@{inc.resolved_by}>" + (f": {escape(inc.resolve_reason)}" if inc.resolve_reason else "")
    commander = f"<@{inc.commander}>" if inc.commander else "nobody yet (`ack` to take it)"
    lines = [status, f"*Severity*: {escape(inc.severity)}", f"*Commander*: {commander}"]
    if inc.declared_by:
        lines.append(f"*Declared by* <@{inc.declared_by}>")
    if inc.pipeline:
        lines.append(f"*Pipeline*: `{escape(inc.pipeline)}`")
    return lines + [f"*{k}*: `{escape(v)}`" for k, v in sorted(inc.labels.items())]


def _alerts_text(inc: Incident) -> str:
    total = len(inc.alerts)
    if not total:
        return "_No alert: declared by hand._" if inc.declared_by else "_No alert._"
    alerts = "\n".join(_alert_line(a) for a in list(inc.alerts.values())[:15])
    more = f"\n…and {total - 15} more" if total > 15 else ""
    if inc.truncated_alerts:
        more += f"\n:warning: Alertmanager left {inc.truncated_alerts} alert(s) out of a notification (max_alerts)."
    return alerts + more


def root_blocks_for(inc: Incident, settings: Settings) -> list[dict[str, Any]]:
    """root_blocks with the links the settings allow: what ThreadPoster posts and edits."""
    return root_blocks(inc, settings.display_tz, incident_links(inc, link_bases(settings)))


def _alert_line(alert: AlertState) -> str:
    mark = ":fire:" if alert.status == "firing" else ":white_check_mark:"
    summary = f" — {escape(alert.summary)}" if alert.summary else ""
    repeat = f" (x{alert.count})" if alert.count > 1 else ""
    return f"{mark} *{escape(alert.alertname)}*{summary}{repeat}"


def alert_joined_text(alert: AlertState) -> str:
    summary = f": {alert.summary}" if alert.summary else ""
    return f":fire: Also firing: *{escape(alert.alertname)}*{escape(summary)}"


def alert_resolved_text(alert: AlertState) -> str:
    return f":white_check_mark: Resolved: *{escape(alert.alertname)}*" + (
        f" (ended {escape(alert.ends_at)})" if alert.ends_at else "")


def incident_resolved_text(inc: Incident) -> str:
    lasted = fmt_duration((inc.resolved_at or inc.last_seen_at) - inc.opened_at)
    return f":white_check_mark: All alerts of {inc.id} are resolved. The incident lasted {lasted}."


MAX_LISTED_ALERTS = 20     # a thread line lists this many; a flood of 1,000 alerts stays one readable post


def alerts_joined_text(alerts: list[AlertState]) -> str:
    """One thread line for all the alerts that joined with one notification."""
    if len(alerts) == 1:
        return alert_joined_text(alerts[0])
    return f":fire: {len(alerts)} more alerts firing:\n" + _listed(
        alerts, lambda a: f"*{escape(a.alertname)}*" + (f": {escape(a.summary)}" if a.summary else ""))


def alerts_resolved_text(alerts: list[AlertState]) -> str:
    """One thread line for all the alerts that one notification resolved."""
    if len(alerts) == 1:
        return alert_resolved_text(alerts[0])
    return f":white_check_mark: {len(alerts)} alerts resolved:\n" + _listed(
        alerts, lambda a: f"*{escape(a.alertname)}*" + (f" (ended {escape(a.ends_at)})" if a.ends_at else ""))


def _listed(alerts: list[AlertState], line: Callable[[AlertState], str]) -> str:
    shown = [f"• {line(a)}" for a in alerts[:MAX_LISTED_ALERTS]]
    rest = len(alerts) - len(shown)
    return "\n".join(shown + ([f"…and {rest} more (the root message counts them all)"] if rest else []))

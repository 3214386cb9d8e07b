"""Links an on-call engineer follows from an incident: the alert's Prometheus graph, its runbook, the
Grafana dashboard over the incident's time range and a pre-filled Alertmanager silence. Pure.

Each link needs its base: a setting left unset (or a URL that is not http/https) means that link is left
out, never a broken one; so is a link that would carry a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from bot.models import AlertState, Incident
from bot.redact import redact

if TYPE_CHECKING:
    from bot.config import Settings

# monitoring/grafana/dashboards/dataflow.json; tests/blocks/test_links.py checks both against the file.
GRAFANA_DASHBOARD_UID = "dataflow-pipeline"
GRAFANA_DASHBOARD_VARIABLES: frozenset[str] = frozenset({"pipeline"})   # `var-pipeline`: the incident's pipeline
# The dashboard opens this long before the first alert (the build-up) and after the resolve.
GRAFANA_BEFORE_SECONDS = 30 * 60
GRAFANA_AFTER_SECONDS = 10 * 60
# Below a section's 3000 characters with room for the line's prefix (a long PromQL makes a long graph URL).
LINKS_TEXT_MAX = 2900


@dataclass(frozen=True)
class LinkBases:
    """Where the links point: the settings that matter here, so builders need no Settings object."""

    grafana_url: str | None = None
    runbook_base_url: str | None = None
    alertmanager_url: str | None = None


def link_bases(settings: Settings) -> LinkBases:
    return LinkBases(grafana_url=settings.grafana_url, runbook_base_url=settings.runbook_base_url,
                     alertmanager_url=settings.alertmanager_url)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def slack_link(link: Link) -> str:
    """`<url|label>` as Slack mrkdwn wants it: & < > escaped in both, and `|`/`>` in the URL
    percent-encoded so that they cannot end the URL early."""
    url = link.url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace("&", "&amp;")
    label = link.label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "/")
    return f"<{url}|{label}>"


def links_line(links: list[Link], limit: int = LINKS_TEXT_MAX) -> str:
    """The links that fit whole: a link cut by Slack's length limit would be a broken one."""
    shown: list[str] = []
    for text in (slack_link(link) for link in links):
        if len(" · ".join([*shown, text])) <= limit:
            shown.append(text)
    return " · ".join(shown)


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def lead_alert(inc: Incident) -> AlertState | None:
    """The alert the links are about: the first still firing, else the first at all."""
    return next(iter(inc.firing), None) or next(iter(inc.alerts.values()), None)


def graph_link(alert: AlertState) -> Link | None:
    """Prometheus's generatorURL: the graph of the alert's expression."""
    return Link("Prometheus graph", alert.generator_url) if is_web_url(alert.generator_url) else None


def runbook_link(alert: AlertState, base_url: str | None) -> Link | None:
    """Absolute runbook_url as is; a relative one (`docs/runbook.md#remediation`) under the base URL."""
    url = alert.runbook_url.strip()
    if not url:
        return None
    if not is_web_url(url):
        if urlsplit(url).scheme or not base_url:   # `javascript:` and the like; or nothing to resolve against
            return None
        url = urljoin(base_url, url.lstrip("/"))
    return Link("Runbook", url) if is_web_url(url) else None


def grafana_link(inc: Incident, grafana_url: str | None) -> Link | None:
    """The pipeline dashboard from before the first alert to after the resolve (or now)."""
    if not grafana_url or not is_web_url(grafana_url):
        return None
    start_ms = int((inc.opened_at - GRAFANA_BEFORE_SECONDS) * 1000)
    end = "now" if inc.status == "open" or inc.resolved_at is None else str(
        int((inc.resolved_at + GRAFANA_AFTER_SECONDS) * 1000))
    query = {"from": str(start_ms), "to": end}
    if inc.pipeline and "pipeline" in GRAFANA_DASHBOARD_VARIABLES:
        query["var-pipeline"] = inc.pipeline
    return Link("Grafana", f"{grafana_url.rstrip('/')}/d/{GRAFANA_DASHBOARD_UID}?{urlencode(query)}")


def silence_matchers(labels: dict[str, str]) -> str:
    """`{alertname="X",connector="y"}`: every label as an equality matcher (what Alertmanager's own
    Silence button on an alert fills in), values quoted as PromQL strings."""
    pairs = [f'{name}="{_quoted(value)}"' for name, value in sorted(labels.items())]
    return "{" + ",".join(pairs) + "}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def silence_link(inc: Incident, alert: AlertState, alertmanager_url: str | None) -> Link | None:
    """Alertmanager's new-silence form with the alert's matchers filled in (`#/silences/new?filter=`).
    ALERTMANAGER_URL wins over the externalURL the notification carried (often an internal name)."""
    base = alertmanager_url or inc.external_url
    if not base or not is_web_url(base):
        return None
    query = quote(silence_matchers(alert.labels), safe="")
    comment = quote(f"{inc.id}: {inc.title}", safe="")
    return Link("Silence", f"{base.rstrip('/')}/#/silences/new?filter={query}&comment={comment}")


def incident_links(inc: Incident, bases: LinkBases) -> list[Link]:
    """The four kinds, each only when it can point somewhere: graph, runbook, Grafana, silence."""
    alert = lead_alert(inc)
    found = [graph_link(alert) if alert else None,
             runbook_link(alert, bases.runbook_base_url) if alert else None,
             grafana_link(inc, bases.grafana_url),
             silence_link(inc, alert, bases.alertmanager_url) if alert else None]
    return [link for link in found if link is not None and not carries_secret(link)]


def carries_secret(link: Link) -> bool:
    """A URL with something shaped like a credential in it (a label value, say). Slack's side masks
    secrets centrally, but percent-encoding hides them from it (`key%3Dvalue`): such a link is left out."""
    plain = unquote(link.url)
    return redact(plain) != plain

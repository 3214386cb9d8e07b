"""The root's links: exact URL shapes, Slack escaping, and a base left unset meaning no link."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from bot.blocks.incident import root_blocks
from bot.blocks.links import (
    GRAFANA_DASHBOARD_UID,
    GRAFANA_DASHBOARD_VARIABLES,
    Link,
    LinkBases,
    grafana_link,
    incident_links,
    links_line,
    runbook_link,
    silence_link,
    silence_matchers,
    slack_link,
)
from bot.config import Settings
from bot.models import AlertState, Incident

DASHBOARD = Path(__file__).resolve().parents[2] / "monitoring" / "grafana" / "dashboards" / "dataflow.json"
GRAPH = "http://prom:9090/graph?g0.expr=dataflow%3Aconnect_failed_tasks+%3E+0&g0.tab=1"
OPENED = 1_764_140_400.0
BASES = LinkBases(grafana_url="https://grafana.example/", runbook_base_url="https://git.example/r/blob/main/",
                  alertmanager_url="https://am.example")


def _alert(**extra: object) -> AlertState:
    base = dict(fingerprint="f1", alertname="ConnectorTaskFailed", status="firing", generator_url=GRAPH,
                runbook_url="docs/runbook.md#remediation",
                labels={"alertname": "ConnectorTaskFailed", "connector": "mysql-oltp-orders", "severity": "critical"})
    return AlertState.model_validate({**base, **extra})


def _incident(*alerts: AlertState, **extra: object) -> Incident:
    base = dict(id="INC-3", number=3, correlation_key="pipeline:orders", pipeline="orders", title="ConnectorTaskFailed",
                channel="C1", opened_at=OPENED, last_seen_at=OPENED + 60, external_url="http://am-internal:9093",
                alerts={a.fingerprint: a for a in alerts})
    return Incident.model_validate({**base, **extra})


def test_all_four_links_point_at_the_right_place() -> None:
    links = incident_links(_incident(_alert()), BASES)
    assert [link.label for link in links] == ["Prometheus graph", "Runbook", "Grafana", "Silence"]
    graph, runbook, grafana, silence = (link.url for link in links)
    assert graph == GRAPH
    assert runbook == "https://git.example/r/blob/main/docs/runbook.md#remediation"
    assert grafana == (f"https://grafana.example/d/{GRAFANA_DASHBOARD_UID}?"
                       f"from={int((OPENED - 1800) * 1000)}&to=now&var-pipeline=orders")
    assert silence == ("https://am.example/#/silences/new?filter="
                       "%7Balertname%3D%22ConnectorTaskFailed%22%2Cconnector%3D%22mysql-oltp-orders%22%2C"
                       "severity%3D%22critical%22%7D&comment=INC-3%3A%20ConnectorTaskFailed")


def test_a_resolved_incident_bounds_the_dashboard_and_links_follow_the_firing_alert() -> None:
    resolved = _alert(fingerprint="f0", status="resolved", generator_url="http://prom:9090/graph?g0.expr=old")
    inc = _incident(resolved, _alert(), status="resolved", resolved_at=OPENED + 600)
    link = grafana_link(inc, "http://g:3000")
    assert link is not None
    query = parse_qs(urlsplit(link.url).query)
    assert query["to"] == [str(int((OPENED + 600 + 600) * 1000))] and query["from"] == [str(int((OPENED - 1800) * 1000))]
    assert incident_links(inc, BASES)[0].url == GRAPH          # the firing one, not the first stored


def test_unset_bases_and_unusable_urls_give_no_link() -> None:
    inc = _incident(_alert(generator_url="", runbook_url="docs/runbook.md#x"), external_url="")
    assert incident_links(inc, LinkBases()) == []
    assert runbook_link(_alert(runbook_url="javascript:alert(1)"), "https://git.example/") is None
    assert runbook_link(_alert(runbook_url="https://wiki.example/rb"), None) == Link("Runbook", "https://wiki.example/rb")
    assert runbook_link(_alert(runbook_url="/docs/runbook.md"), "https://git.example/r/") == Link(
        "Runbook", "https://git.example/r/docs/runbook.md")
    assert grafana_link(inc, "ftp://grafana") is None
    # No ALERTMANAGER_URL: the externalURL Alertmanager sent is where its UI is.
    fallback = silence_link(_incident(_alert()), _alert(), None)
    assert fallback is not None and fallback.url.startswith("http://am-internal:9093/#/silences/new?filter=")
    declared = _incident(declared_by="U0ALICE", external_url="")
    assert incident_links(declared, BASES) == [incident_links(declared, BASES)[0]]   # Grafana only
    assert incident_links(declared, BASES)[0].label == "Grafana"


def test_matchers_quote_values_and_links_are_escaped_for_slack() -> None:
    matchers = silence_matchers({"alertname": "A", "table": 'we"ird\\name'})
    assert matchers == '{alertname="A",table="we\\"ird\\\\name"}'
    tricky = Link("a|b>c", "https://x.example/p?q=1&r=a|b>c<d")
    assert slack_link(tricky) == "<https://x.example/p?q=1&amp;r=a%7Cb%3Ec%3Cd|a/b&gt;c>"
    link = silence_link(_incident(_alert()), _alert(labels={"alertname": "A|B>"}), "https://am.example")
    assert link is not None and unquote(link.url.split("filter=")[1].split("&")[0]) == '{alertname="A|B>"}'
    shown = slack_link(link)
    assert shown.count("|") == 1 and shown.count(">") == 1         # the URL cannot end the link early


def test_a_link_that_would_carry_a_secret_is_left_out() -> None:
    planted = _alert(labels={"alertname": "A", "note": "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"})
    assert [link.label for link in incident_links(_incident(planted), BASES)] == ["Prometheus graph", "Runbook",
                                                                                 "Grafana"]
    leaky_graph = _alert(generator_url="http://prom:9090/graph?g0.expr=up%7Bpassword%3D%22hunter2%22%7D")
    assert "Prometheus graph" not in [link.label for link in incident_links(_incident(leaky_graph), BASES)]


def test_only_links_that_fit_whole_are_shown() -> None:
    long_graph = Link("Prometheus graph", "http://prom/graph?g0.expr=" + "x" * 2880)
    line = links_line([long_graph, Link("Runbook", "https://rb.example/a")])
    assert line == "<https://rb.example/a|Runbook>"
    assert links_line([Link("Grafana", "https://g"), Link("Silence", "https://s")]) == "<https://g|Grafana> · <https://s|Silence>"


def test_root_message_carries_the_links_and_settings_reach_them() -> None:
    blocks = root_blocks(_incident(_alert()), links=incident_links(_incident(_alert()), BASES))
    text = json.dumps(blocks)
    assert "<http://prom:9090/graph?g0.expr=dataflow%3Aconnect_failed_tasks+%3E+0&amp;g0.tab=1|Prometheus graph>" in text
    assert "|Runbook>" in text and "|Grafana>" in text and "|Silence>" in text
    assert ":link:" not in json.dumps(root_blocks(_incident(_alert())))
    settings = Settings(grafana_url="https://grafana.example", runbook_base_url="https://git.example/r/blob/main",
                        alertmanager_url="https://am.example/")
    assert settings.runbook_base_url == "https://git.example/r/blob/main/"   # a directory, not a file
    assert settings.alertmanager_url == "https://am.example"


def test_the_dashboard_uid_and_variables_are_the_files() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == GRAFANA_DASHBOARD_UID
    assert {v["name"] for v in dashboard["templating"]["list"]} == GRAFANA_DASHBOARD_VARIABLES

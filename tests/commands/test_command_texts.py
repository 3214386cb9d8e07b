"""Pure builders of the read-only subcommands: incidents list, combined answers, baseline refusals."""

from __future__ import annotations

from bot.blocks.commands import (
    INCIDENTS_SHOWN,
    MESSAGE_MAX,
    accept_drift_hint,
    baseline_exists_text,
    baseline_taken_text,
    combine,
    ephemeral_footer,
    incident_line,
    incidents_text,
    who,
)
from bot.blocks.enrichment import Enrichment
from bot.models import Incident
from bot.schema.baseline import Baseline
from bot.schema.model import Column, TableSchema

T0 = 1_764_140_400.0  # 2025-11-26 07:00:00 UTC


def incident(n: int, status: str = "open", title: str = "SchemaDriftDetected on oltp.orders") -> Incident:
    resolved = T0 + 600 if status == "resolved" else None
    return Incident(id=f"INC-{n}", number=n, correlation_key="pipeline:orders", title=title, status=status,
                    channel="C0INCIDENT", opened_at=T0, resolved_at=resolved, last_seen_at=T0)


def baseline(source: str = "snapshot", by: str = "U0ALICE") -> Baseline:
    schema = TableSchema("oltp", "orders", (Column("id", 1, "bigint unsigned", False, key="PRI"),))
    return Baseline(schema, source, 2, by, "2025-11-26T07:00:00+00:00")


def test_incident_line_shows_status_and_both_times_in_the_display_zone() -> None:
    line = incident_line(incident(3, "resolved"), "Asia/Ho_Chi_Minh")
    assert line.startswith(":white_check_mark: *INC-3* SchemaDriftDetected on oltp.orders — *resolved*")
    assert "opened 2025-11-26 07:00:00 UTC (14:00:00 +07)" in line
    assert "resolved 2025-11-26 07:10:00 UTC (14:10:00 +07)" in line


def test_incident_line_escapes_the_title_and_omits_resolved_when_open() -> None:
    line = incident_line(incident(1, title="<!channel> & co"), "UTC")
    assert "&lt;!channel&gt; &amp; co" in line and "resolved" not in line


def test_incidents_text_keeps_the_order_and_caps_the_list() -> None:
    text = incidents_text([incident(n) for n in range(15, 0, -1)], "UTC")
    assert text.count("*INC-") == INCIDENTS_SHOWN
    assert text.index("*INC-15*") < text.index("*INC-6*") and "*INC-5*" not in text


def test_incidents_text_when_there_are_none() -> None:
    assert "No incidents yet" in incidents_text([], "UTC")


def test_combine_joins_texts_keeps_files_and_stays_under_slacks_limit() -> None:
    items = [Enrichment("connect", "a" * 9000, ("trace.txt", "T")), Enrichment("flink", "b" * 9000)]
    text, files = combine(items)
    assert len(text) == MESSAGE_MAX and text.startswith("a") and text.endswith("…")
    assert files == [("trace.txt", "T")]


def test_ephemeral_footer_says_how_to_share_and_what_is_missing() -> None:
    assert "INC-12" in ephemeral_footer([]) and "attached" not in ephemeral_footer([])
    assert "`a&lt;b.txt`) is attached only in an incident thread" in ephemeral_footer([("a<b.txt", "x")])


def test_who_mentions_user_ids_only() -> None:
    assert who("U0ALICE") == "<@U0ALICE>"
    assert who("drift-watcher") == "drift-watcher"
    assert who("<!here>") == "&lt;!here&gt;"


def test_baseline_texts_name_the_origin_and_the_approval_step() -> None:
    assert "contract file v2 (owner U0ALICE)" in baseline_exists_text("oltp.orders", baseline("contract"))
    snap = baseline_exists_text("oltp.orders", baseline(by="drift-watcher"))
    assert "snapshot v2 taken by drift-watcher at 2025-11-26T07:00:00+00:00" in snap
    hint = accept_drift_hint("oltp.orders")
    assert "`/dataflow run accept-drift oltp.orders`" in hint and "Nothing was changed" in hint
    taken = baseline_taken_text("oltp.orders", baseline())
    assert "snapshot v2 of its 1 live column(s), by <@U0ALICE>" in taken

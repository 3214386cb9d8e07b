"""`/dataflow schema <db.table> [baseline|accept]`: the diff against the baseline, or a first baseline.

Replacing an existing baseline is accepting the drift: that is a mutating runbook step with approval
(`/dataflow run accept-drift`), never something this read-only command does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.backends import baseline_store
from bot.blocks.commands import accept_drift_hint, baseline_exists_text, baseline_taken_text
from bot.blocks.common import escape
from bot.blocks.enrichment import failure_text
from bot.clients.mysql import connect
from bot.commands.answer import answer
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import Target, resolve_incident
from bot.errors import BackendError, DataflowError, PermissionDenied, UserInputError
from bot.incidents.enrich import FORENSICS_LOOKBACK_SECONDS
from bot.pipeline import Lineage
from bot.schema.baseline import Baseline, BaselineStore
from bot.schema.render import render_diff_text
from bot.schema.report import build_report, live_schema, report_text, watched_table

if TYPE_CHECKING:
    from bot.deps import Deps

ACTIONS = ("baseline", "accept")


@subcommand("schema", "<db.table> [baseline|accept] [INC-n]",
            "the table's live schema against its baseline, with the DDL from the binlog")
def run_schema(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args, required=False)
    table, action = parse_schema_args(deps.lineage, target.rest)
    if action == "accept":
        raise PermissionDenied(f"Accepting the drift of `{table}` replaces its baseline.", accept_drift_hint(table))
    if action == "baseline":
        return take_first_baseline(deps, inv, target, table)
    return show_report(deps, inv, target, table)


def parse_schema_args(lineage: Lineage, rest: list[str]) -> tuple[str, str | None]:
    """(`db.table`, action): a watched table with plain identifiers, and baseline/accept or nothing."""
    if not rest or len(rest) > 2:
        raise UserInputError("Usage: `/dataflow schema &lt;db.table&gt; [baseline|accept]`.",
                             "Example: `/dataflow schema oltp.orders`.")
    action = rest[1].lower() if len(rest) == 2 else None
    if action is not None and action not in ACTIONS:
        raise UserInputError(f"Unknown action `{escape(rest[1][:40])}`.", "Use `baseline` or `accept`.")
    try:
        db, name = watched_table(lineage, rest[0])
    except UserInputError as exc:
        # The refusal quotes the hostile name: escaped, so `<!channel>` cannot ping anyone.
        raise type(exc)(escape(str(exc)), exc.hint) from None
    return f"{db}.{name}", action


def mysql_url(deps: Deps) -> str:
    if deps.settings.mysql_url is None:
        raise DataflowError("MySQL is not configured.", "Set MYSQL_URL to compare schemas.")
    return deps.settings.mysql_url.get_secret_value()


def show_report(deps: Deps, inv: Invocation, target: Target, table: str) -> Reply:
    inc = target.incident
    opened = inc.opened_at if inc else time.time()
    since = datetime.fromtimestamp(opened - FORENSICS_LOOKBACK_SECONDS, UTC)
    try:
        report = build_report(mysql_url(deps), baseline_store(deps.settings, deps.store.r), deps.lineage,
                              table, since, timeout=deps.settings.enrich_timeout_seconds)
        text = report_text(report, render_diff_text(report.diff))
    except BackendError as exc:
        text = failure_text(exc.backend, exc.where, exc.reason)
    return answer(deps, inv, inc, f"schema {table}", text, note=target.note())


def take_first_baseline(deps: Deps, inv: Invocation, target: Target, table: str) -> Reply:
    """Snapshot the live schema, only when the table has no baseline at all (contract or snapshot)."""
    store = baseline_store(deps.settings, deps.store.r)
    refuse_if_present(table, store.get(table))
    made = snapshot_if_absent(deps, store, table, inv.user_id)
    if made.taken_by != inv.user_id:  # someone (or the drift watcher) took one a moment before us
        refuse_if_present(table, made)
    deps.store.audit(action="baseline_snapshot", table=table, user=inv.user_id, version=str(made.version))
    return answer(deps, inv, target.incident, f"schema {table} baseline", baseline_taken_text(table, made),
                  note=target.note())


def refuse_if_present(table: str, existing: Baseline | None) -> None:
    if existing is not None:
        raise PermissionDenied(baseline_exists_text(table, existing), accept_drift_hint(table))


def snapshot_if_absent(deps: Deps, store: BaselineStore, table: str, user: str) -> Baseline:
    db, name = table.split(".", 1)
    try:
        conn = connect(mysql_url(deps), timeout=deps.settings.enrich_timeout_seconds)
        try:
            live = live_schema(conn, db, name)
        finally:
            conn.close()
    except BackendError as exc:
        raise DataflowError(failure_text(exc.backend, exc.where, exc.reason)) from None
    # The compare-and-set lives in BaselineStore (WATCH on both keys): a get-then-set here would race
    # the drift watcher's first snapshot and could replace a baseline without approval.
    return store.snapshot_if_absent(table, live, user)

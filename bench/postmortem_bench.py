"""Postmortem export of a 2,000-message incident: our own time, as a ratio against baselines in the same run.

  export    = export_markdown(deps, id): Redis read + pydantic + builder + redaction (Slack/backends unset,
              so only our own work is timed)
  build     = build_markdown(facts) alone (pure)
  baselines = json.dumps of the same events (the cheapest possible "render"), and exporting a trivial
              incident (fixed costs)

Run: .venv/bin/python -m bench.postmortem_bench [--messages 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path

from bench.common import DEFAULT_REDIS_URL, fresh_redis, median_seconds
from bot.config import Settings
from bot.deps import build_deps
from bot.models import TimelineEvent
from bot.postmortem.builder import build_markdown
from bot.postmortem.export import export_markdown
from tests.postmortem.drill import T0, bare_facts, drill_events, drill_facts, drill_incident

REPO = Path(__file__).resolve().parent.parent


def thread(n: int) -> list[TimelineEvent]:
    return [TimelineEvent(ts=T0 + 60 + i * 0.37, kind="human_message", actor=f"U0USER{i % 12}",
                          text=f"message {i}: the connector <@U0BOB> looks | fine now\nsecond line",
                          source_id=f"msg:{T0 + 60 + i * 0.37:.6f}") for i in range(n)]



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    settings = Settings(_env_file=None, redis_url=fresh_redis(args.redis_url),
                        pipeline_file=REPO / "config" / "pipelines.yml")
    deps = build_deps(settings)
    events = [*drill_events(), *thread(args.messages)]
    deps.store.save_incident(drill_incident())
    deps.store.save_incident(drill_incident().model_copy(update={"id": "INC-8", "number": 8, "alerts": {}}))
    for e in events:
        deps.store.add_event("INC-7", e)
    facts = replace(drill_facts(), events=events)
    dumps = median_seconds(args.repeat, lambda: json.dumps([e.model_dump() for e in events]))
    trivial = median_seconds(args.repeat, lambda: export_markdown(deps, "INC-8"))
    export = median_seconds(args.repeat, lambda: export_markdown(deps, "INC-7"))
    build = median_seconds(args.repeat, lambda: build_markdown(facts))
    small = median_seconds(args.repeat, lambda: build_markdown(bare_facts()))
    print(json.dumps({
        "events": len(events), "markdown_bytes": len(export_markdown(deps, "INC-7").encode()),
        "export_ms": round(export * 1000, 1), "build_ms": round(build * 1000, 1),
        "json_dumps_ms": round(dumps * 1000, 1), "trivial_export_ms": round(trivial * 1000, 1),
        "build_vs_json_dumps": round(build / dumps, 2), "export_vs_trivial_export": round(export / trivial, 1),
        "build_vs_trivial_build": round(build / small, 1),
    }, indent=2))
    deps.jobs.shutdown()


if __name__ == "__main__":
    main()

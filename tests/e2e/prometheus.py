"""The real Prometheus (Debian's 2.42) running a generated copy of our rules against localhost targets."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import free_port, require_binary
from tests.harness import REPO

RULES = REPO / "monitoring" / "prometheus" / "rules"


def fast_rules(target_dir: Path, for_: str = "1s", renames: dict[str, str] | None = None,
               keep: frozenset[str] = frozenset()) -> list[Path]:
    """Copies of monitoring/prometheus/rules/*.yml with `for:` shortened (except the alerts in `keep`)
    and metric names renamed.

    Everything else is our shipped text, so the test evaluates the real expressions and labels.
    """
    written = []
    for source in sorted(RULES.glob("*.yml")):
        text = source.read_text()
        for old, new in (renames or {}).items():
            text = text.replace(old, new)
        doc = yaml.safe_load(text)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" in rule and rule["alert"] not in keep:
                    rule["for"] = for_
        path = target_dir / source.name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        written.append(path)
    return written


class Prometheus:
    def __init__(self, rule_files: list[Path], targets: dict[str, str], alertmanager: str,
                 interval: str = "1s", port: int | None = None) -> None:
        """targets: scrape job name -> "host:port"; alertmanager: "host:port"; port: when the bot must be
        told PROMETHEUS_URL before Prometheus can start (it scrapes the bot)."""
        self.binary = require_binary("prometheus")
        self.dir = Path(tempfile.mkdtemp(prefix="prom-"))
        cfg: dict[str, Any] = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
            "rule_files": [str(p) for p in rule_files],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                               for job, target in targets.items()],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             # The alerts' generatorURL (the root's graph link) then points at this very Prometheus.
             f"--web.external-url={self.url}",
             # Resend firing alerts to Alertmanager every second instead of every minute.
             "--rules.alert.resend-delay=1s"],
            stdout=(self.dir / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
        for _ in range(150):
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/-/ready", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus did not start:\n" + self.logs())

    def logs(self) -> str:
        return (self.dir / "prometheus.log").read_text(errors="replace")

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's own view of its alerts (pending and firing), for failure messages."""
        return list(httpx.get(self.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

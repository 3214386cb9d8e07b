"""The real Alertmanager (Debian's prometheus-alertmanager), started by a test with a generated config."""

from __future__ import annotations

import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import free_port, require_binary


def config(bot_url: str, token: str) -> dict[str, Any]:
    return {
        "route": {"receiver": "dataflow-bot", "group_by": ["alertname", "table"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "dataflow-bot", "webhook_configs": [{
            "url": bot_url + "/alerts", "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": token}}}]}],
    }


class Alertmanager:
    def __init__(self, bot_url: str, token: str, cfg: dict[str, Any] | None = None) -> None:
        self.binary = require_binary("prometheus-alertmanager", "alertmanager")
        self.dir = Path(tempfile.mkdtemp(prefix="am-"))
        (self.dir / "am.yml").write_text(yaml.safe_dump(cfg or config(bot_url, token)))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.dir / 'am.yml'}", f"--storage.path={self.dir}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             f"--web.external-url={self.url}"],
            stdout=(self.dir / "am.log").open("wb"), stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                if httpx.get(self.url + "/-/ready", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("alertmanager did not start:\n" + (self.dir / "am.log").read_text())

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def fire(self, labels: dict[str, str], summary: str = "", resolve: bool = False) -> None:
        now = datetime.now(UTC)
        alert: dict[str, Any] = {"labels": labels, "annotations": {"summary": summary},
                                 "startsAt": (now - timedelta(minutes=1)).isoformat()}
        if resolve:
            alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
        httpx.post(self.url + "/api/v2/alerts", json=[alert], timeout=5).raise_for_status()

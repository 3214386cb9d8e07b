"""Start the real `dataflow-bot serve` process (one or several) against the sandbox and real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SIGNING_SECRET = "test-signing-secret-8f2c1d"
BOT_TOKEN = "xoxb-sandbox-token"
WEBHOOK_TOKEN = "test-webhook-token-5b7e"
CHANNEL = "C0INCIDENT"


def bot_env(redis_url: str, slack_api_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment a bot process gets: everything explicit, nothing read from a developer's .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATAFLOW_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
        INCIDENT_CHANNEL=CHANNEL,
        ALERT_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        REDIS_URL=redis_url,
        PIPELINE_FILE=str(REPO / "config" / "pipelines.yml"),
        SCHEMA_CONTRACTS_DIR=str(REPO / "schemas"),
        BOT_HOST="127.0.0.1",
        BOT_PORT=str(port),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        DRIFT_WATCH_INTERVAL_SECONDS="0",
        FLINK_STABLE_SECONDS="1",   # the simulator's restarts take half a second
    )
    env.pop("SLACK_APP_TOKEN", None)
    env.update(extra)
    return env


class BotProcess:
    """One `dataflow-bot serve` child process; its output goes to a file the test can read."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = int(env["BOT_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.NamedTemporaryFile(prefix="bot-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> BotProcess:
        # A scratch cwd, so that no .env of the developer's checkout leaks in.
        self.proc = subprocess.Popen([str(BIN / "dataflow-bot"), "serve"], env=self.env,
                                     cwd=tempfile.gettempdir(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                httpx.get(self.url + "/metrics", timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"bot did not answer within {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a container dies."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_cli(args: list[str], env: dict[str, str], cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "dataflow-bot"), *args], env=env, cwd=cwd or tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=60, check=False)

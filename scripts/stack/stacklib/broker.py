"""The Kafka-compatible broker: Tansu 0.6.0, memory storage (topics vanish when it stops), private HOME."""

from __future__ import annotations

from pathlib import Path

from stacklib.layout import DIRS, LOGS, TANSU_BIN
from stacklib.probes import kafka_api_versions
from stacklib.proc import Proc
from stacklib.settings import BROKER_LOG_LEVEL, HOST, PORTS


class Broker(Proc):
    def __init__(self) -> None:
        super().__init__("broker", [PORTS["broker"]], f"{HOST}:{PORTS['broker']}", LOGS / "broker.log")

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        home = DIRS["broker"] / "home"
        home.mkdir(parents=True, exist_ok=True)
        listener = f"tcp://{HOST}:{PORTS['broker']}"
        return ([str(TANSU_BIN), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
                 "--storage-engine", "memory://tansu/"],
                {"HOME": str(home), "RUST_LOG": BROKER_LOG_LEVEL}, home)

    def healthy(self) -> bool:
        return kafka_api_versions(PORTS["broker"])

"""The two systems the contract suite runs against: our simulators, or the local real stack.

A `Target` names the URLs and what runs there (the CDC connector, the Flink job) plus the few things a
test cannot do over REST alone on both: make the probe connector's task fail (the real FileStreamSink
task fails by itself; the simulator is told to) and push the Flink job into a restart loop and out of it
(schema drift on the real MariaDB; a scripted failure on the simulator).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FLINK_METRICS_UPDATE_INTERVAL, FlinkSimulator
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
# The file docker-compose.yml and scripts/stack both create the CDC connector from.
CONNECTOR_FILE = REPO / "deploy" / "connect" / "mysql-oltp-orders.json"
CONNECTOR_NAME = "mysql-oltp-orders"
JOB_NAME = "cdc-orders-enrich"

# The probe: a FileStreamSink writing into a folder that does not exist, so its task FAILED at start
# (observed on Connect 3.9.0), carrying a plain-text `database.password` (difference 11).
PROBE_NAME = "contract-probe"
PROBE_PASSWORD = "probe-s3cret-7f3a"
PROBE_FILE = "/nonexistent-contract-dir/out.txt"
PROBE_TRACE = (  # what Connect 3.9.0 answered for that task (first frames)
    f"org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '{PROBE_FILE}' for "
    "FileStreamSinkTask\n\tat org.apache.kafka.connect.file.FileStreamSinkTask.start(FileStreamSinkTask.java:74)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerSinkTask.initializeAndStart(WorkerSinkTask.java:324)\n"
    f"Caused by: java.nio.file.NoSuchFileException: {PROBE_FILE}\n\t... 10 more\n")

# The failure the real job's strict decoder raises on a drifted row (DecodeOrders.java).
DRIFT_COLUMN = "contract_drift"
DRIFT_EXCEPTION = "java.lang.IllegalStateException"


def probe_config(topic: str) -> dict[str, str]:
    return {"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "tasks.max": "1",
            "topics": topic, "file": PROBE_FILE, "database.password": PROBE_PASSWORD}


def connector_file() -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(CONNECTOR_FILE.read_text()).items()}


@dataclass
class Target:
    kind: str                       # "sim" or "real"
    connect_url: str
    flink_url: str
    connector: str
    job_name: str
    cdc_topic: str
    # The CDC connector's `database.password` as configured (the deploy file's `${env:...}` reference).
    connector_password: str
    # Called after the probe connector was created: its task must end FAILED with PROBE_TRACE's first line.
    after_probe_created: Callable[[str], None]
    # Puts the Flink job into a restart loop, and back to RUNNING (with no drift left).
    start_job_failure: Callable[[], None]
    end_job_failure: Callable[[], None]
    # How the job is submitted (POST /jars/<id>/run): its jar's uploaded name, entry class and arguments.
    job_args: list[str] = field(default_factory=list)


JOB_JAR = "cdc-orders-job.jar"
ENTRY_CLASS = "com.dataflow.flink.CdcOrdersEnrichJob"


# -- the simulators -------------------------------------------------------------------------------------
@contextmanager
def simulated() -> Iterator[Target]:
    """A Connect simulator with the CDC connector of the deploy file, a Flink 2.x simulator with the job
    (its job metrics cached as Flink's are: difference 1)."""
    connect_port = free_port()
    with ConnectSimulator(port=connect_port, restart_delay=0.2) as connect, \
            FlinkSimulator(api_version="2.x", restart_delay=1.0,
                           metrics_update_interval=FLINK_METRICS_UPDATE_INTERVAL) as flink:
        config = connector_file()
        config.pop("name")
        connect.add_connector(CONNECTOR_NAME, config, worker_id=f"127.0.0.1:{connect_port}")
        jid = flink.add_job(JOB_NAME)
        flink.complete_checkpoint(jid)          # the real job checkpoints every 5 s
        flink.control.upload_jar(JOB_JAR, ENTRY_CLASS)

        def probe_created(name: str) -> None:
            # The real task fails at start and again at every restart: the simulator's health check does that.
            connect.fail_task(name, 0, PROBE_TRACE)
            connect.health_check = lambda connector: PROBE_TRACE if connector == name else None

        drift = f"unknown column {DRIFT_COLUMN} in oltp.orders (dbserver1.oltp.orders[0]@7)"

        def start_failure() -> None:
            flink.health_check = lambda job: drift if job == JOB_NAME else None
            flink.fail_and_restart(JOB_NAME, DRIFT_EXCEPTION, f"{DRIFT_EXCEPTION}: {drift}")

        def end_failure() -> None:
            flink.health_check = None

        yield Target("sim", connect.url, flink.url, CONNECTOR_NAME, JOB_NAME, "dbserver1.oltp.orders",
                     connector_file()["database.password"], probe_created, start_failure, end_failure,
                     ["--job-name", JOB_NAME])

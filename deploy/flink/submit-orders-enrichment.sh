#!/bin/bash
# One-shot (service `flink-sql-init`): submit orders-enrichment.sql to the session cluster unless a
# job of that name is already running or restarting, so `docker compose up` can be re-run safely.
# Runs inside the Flink image (through with-connector-jars.sh), which has the flink CLI and SQL client;
# FLINK_PROPERTIES in docker-compose.yml points both at flink-jobmanager.
set -euo pipefail
JOB_NAME="${JOB_NAME:-orders-enrichment}"
SQL_FILE="${SQL_FILE:-/opt/dataflow/orders-enrichment.sql}"

# `flink list -r` prints "<date> : <job id> : <name> (RUNNING|RESTARTING)" for live jobs.
if /opt/flink/bin/flink list -r | grep -F -q " : ${JOB_NAME} ("; then
  echo "submit: ${JOB_NAME} is already running; nothing to do"
  exit 0
fi
echo "submit: starting ${JOB_NAME} from ${SQL_FILE}"
exec /opt/flink/bin/sql-client.sh -f "${SQL_FILE}"

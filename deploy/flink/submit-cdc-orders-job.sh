#!/bin/bash
# One-shot (service `flink-job-init`): submit the Flink job cdc-orders-enrich to the session cluster
# with the arguments `scripts/stack/stack.py job submit` gives it on the local stack, unless a job of
# that name is already live, so `docker compose up` can be re-run safely. Then waits until it RUNS.
#
#   --topic    <topic.prefix>.<table.include.list> of the connector config (deploy/connect/mysql-oltp-orders.json)
#   --columns  the column names of the table's contract (schemas/oltp/orders.yml), in order
#
# Runs in the image built from deploy/flink/cdc-orders-job/Dockerfile (the jar is in /opt/flink/usrlib);
# FLINK_PROPERTIES in docker-compose.yml points the flink CLI at flink-jobmanager.
set -euo pipefail

JOB_JAR="${JOB_JAR:-/opt/flink/usrlib/cdc-orders-job.jar}"
CONNECTOR_FILE="${CONNECTOR_FILE:-/opt/dataflow/mysql-oltp-orders.json}"
CONTRACT_FILE="${CONTRACT_FILE:-/opt/dataflow/orders.yml}"
FLINK_JOB_NAME="${FLINK_JOB_NAME:-cdc-orders-enrich}"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:?set KAFKA_BOOTSTRAP_SERVERS}"
FLINK_RESTART_ATTEMPTS="${FLINK_RESTART_ATTEMPTS:-1000000}"
FLINK_RESTART_DELAY_MS="${FLINK_RESTART_DELAY_MS:-5000}"
WAIT_SECONDS="${WAIT_SECONDS:-180}"
FLINK="${FLINK_HOME:-/opt/flink}/bin/flink"

log() { echo "submit: $*"; }

# "key": "value" of the flat connector config (one key per line, as the file is written).
json_value() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$CONNECTOR_FILE"; }

prefix="$(json_value 'topic\.prefix')"
table="$(json_value 'table\.include\.list')"
columns="$(grep -o '{ *name: *[A-Za-z0-9_]*' "$CONTRACT_FILE" | sed 's/.*name: *//' | paste -sd, -)"
if [ -z "$prefix" ] || [ -z "$table" ] || [ -z "$columns" ]; then
  log "cannot read topic.prefix/table.include.list from $CONNECTOR_FILE or columns from $CONTRACT_FILE" >&2
  exit 1
fi
topic="${CDC_TOPIC:-$prefix.$table}"

# `flink list` prints "<date> : <job id> : <name> (<state>)" for running and scheduled jobs.
live() { "$FLINK" list 2>/dev/null | grep -F " : ${FLINK_JOB_NAME} ($1"; }

if live ""; then
  log "${FLINK_JOB_NAME} is already live; nothing to do"
  exit 0
fi
log "starting ${FLINK_JOB_NAME}: topic ${topic} on ${KAFKA_BOOTSTRAP_SERVERS}, columns ${columns}"
"$FLINK" run -d "$JOB_JAR" \
  --job-name "$FLINK_JOB_NAME" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" \
  --columns "$columns" --restart-attempts "$FLINK_RESTART_ATTEMPTS" --restart-delay-ms "$FLINK_RESTART_DELAY_MS"

waited=0
until live "RUNNING)" >/dev/null; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    log "${FLINK_JOB_NAME} not RUNNING within ${WAIT_SECONDS}s:" >&2
    "$FLINK" list -a >&2 || true
    exit 1
  fi
  sleep 3
  waited=$((waited + 3))
done
log "${FLINK_JOB_NAME} is RUNNING"

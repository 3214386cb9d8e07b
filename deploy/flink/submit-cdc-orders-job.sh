#!/bin/bash
# One-shot (service `flink-job-init`): submit the Flink job cdc-orders-enrich to the session cluster
# with the arguments `scripts/stack/stack.py job submit` gives it on the local stack, unless a job of
# that name is already live, so `docker compose up` can be re-run safely. Then waits until it RUNS.
# Over REST, as the local stack does: POST /jars/upload (the jar stays in /jars, where the bot's restart
# step finds it by name) and POST /jars/<id>/run. wget, not curl: the Flink image has wget.
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
FLINK_CHECKPOINT_INTERVAL_MS="${FLINK_CHECKPOINT_INTERVAL_MS:-5000}"
FLINK_REST_URL="${FLINK_REST_URL:-http://flink-jobmanager:8081}"
ENTRY_CLASS=com.dataflow.flink.CdcOrdersEnrichJob
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

# POST /jars/upload: multipart, field "jarfile" (wget sends a prepared body).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
boundary="dataflow$(date +%s%N)"
{
  printf -- '--%s\r\nContent-Disposition: form-data; name="jarfile"; filename="%s"\r\n' "$boundary" "$(basename "$JOB_JAR")"
  printf 'Content-Type: application/x-java-archive\r\n\r\n'
  cat "$JOB_JAR"
  printf -- '\r\n--%s--\r\n' "$boundary"
} > "$work/upload"
wget -q -O "$work/uploaded.json" --header "Content-Type: multipart/form-data; boundary=$boundary" \
  --post-file "$work/upload" "$FLINK_REST_URL/jars/upload"
jar_id="$(sed -n 's/.*"filename": *"\([^"]*\)".*/\1/p' "$work/uploaded.json")"; jar_id="${jar_id##*/}"
[ -n "$jar_id" ] || { log "jar upload answered: $(cat "$work/uploaded.json")" >&2; exit 1; }

args=(--job-name "$FLINK_JOB_NAME" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "$topic" --columns "$columns"
      --restart-attempts "$FLINK_RESTART_ATTEMPTS" --restart-delay-ms "$FLINK_RESTART_DELAY_MS"
      --checkpoint-interval-ms "$FLINK_CHECKPOINT_INTERVAL_MS")
json_args="$(printf '"%s",' "${args[@]}")"
wget -q -O "$work/run.json" --header "Content-Type: application/json" \
  --post-data "{\"entryClass\":\"$ENTRY_CLASS\",\"parallelism\":1,\"programArgsList\":[${json_args%,}]}" \
  "$FLINK_REST_URL/jars/$jar_id/run"
log "submitted: $(cat "$work/run.json")"

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

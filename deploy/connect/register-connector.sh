#!/bin/sh
# Create or update a Kafka Connect connector from a flat config file, then wait until it and its
# tasks are RUNNING. Idempotent: PUT /connectors/<name>/config creates (201) or updates (200).
#
#   register-connector.sh [config.json]      default: /deploy/connect/mysql-oltp-orders.json
#
# The connector name is the file name without .json and must equal the "name" inside the file.
# Secrets stay out of the file: the password is "${env:...}", resolved by the worker's
# EnvVarConfigProvider, so GET /connectors/<name>/config shows the placeholder, never the value.
# Needs only sh + curl (runs in the curlimages/curl one-shot service `connect-init`).
set -eu

CONNECT_URL="${CONNECT_URL:-http://connect:8083}"
CONFIG_FILE="${1:-/deploy/connect/mysql-oltp-orders.json}"
WAIT_SECONDS="${WAIT_SECONDS:-180}"
NAME="$(basename "$CONFIG_FILE" .json)"
BODY="$(mktemp)"
trap 'rm -f "$BODY"' EXIT

log() { echo "register-connector: $*"; }

# Gives up after WAIT_SECONDS; "$@" is the probe.
wait_for() {
  waited=0
  until "$@"; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      return 1
    fi
    sleep 3
    waited=$((waited + 3))
  done
}

rest_up() { curl -fsS -o /dev/null "$CONNECT_URL/connectors"; }

# True when the connector and all its tasks are RUNNING; exits the script on FAILED.
running() {
  curl -fsS -o "$BODY" "$CONNECT_URL/connectors/$NAME/status" || return 1
  if grep -q '"state":"FAILED"' "$BODY"; then
    log "connector $NAME FAILED:"; cat "$BODY"; echo; exit 1
  fi
  # Connect's JSON is compact; no "tasks":[] means at least one task exists.
  ! grep -q '"tasks":\[\]' "$BODY" && ! grep -Eq '"state":"(UNASSIGNED|PAUSED|RESTARTING|STOPPED)"' "$BODY"
}

log "waiting for $CONNECT_URL"
wait_for rest_up || { log "Kafka Connect did not answer within ${WAIT_SECONDS}s"; exit 1; }

code=$(curl -sS -o "$BODY" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  --data @"$CONFIG_FILE" "$CONNECT_URL/connectors/$NAME/config")
case "$code" in
  200) log "updated $NAME" ;;
  201) log "created $NAME" ;;
  *) log "PUT config for $NAME returned HTTP $code:"; cat "$BODY"; echo; exit 1 ;;
esac

wait_for running || { log "$NAME not RUNNING within ${WAIT_SECONDS}s:"; cat "$BODY"; echo; exit 1; }
log "$NAME is RUNNING"
cat "$BODY"; echo

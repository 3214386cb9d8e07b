#!/bin/bash
# Entrypoint wrapper for every Flink container: copy the connector jars that `fetch-jars` put in
# /opt/flink/connector-jars into /opt/flink/lib (the stock image has no Kafka connector), then hand
# over to the image's own entrypoint, which drops root and starts jobmanager/taskmanager/sql-client.
# lib/ must hold them on the client (to plan the SQL) and on the cluster (to run it).
set -euo pipefail
shopt -s nullglob
jars=(/opt/flink/connector-jars/*.jar)
if [ ${#jars[@]} -eq 0 ]; then
  echo "with-connector-jars: no jars in /opt/flink/connector-jars (did fetch-jars run?)" >&2
  exit 1
fi
cp "${jars[@]}" /opt/flink/lib/
exec /docker-entrypoint.sh "$@"

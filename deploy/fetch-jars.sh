#!/bin/sh
# One-shot (service `fetch-jars`): download the jar the stock Connect image lacks into a named volume.
#   /jars/jmx-agent/jmx_prometheus_javaagent.jar        -> Connect worker, via KAFKA_OPTS -javaagent
# (The Flink job needs no connector jar: deploy/flink/cdc-orders-job bundles kafka-clients.)
# Each jar is checked against the .sha1 that Maven Central publishes beside it (catches truncated or
# corrupted downloads; for supply-chain pinning, mirror the jars and point MAVEN_REPO_URL at it).
# Files already present and matching are kept, so re-running `docker compose up` is cheap.
set -eu

REPO="${MAVEN_REPO_URL:-https://repo1.maven.org/maven2}"
JMX_AGENT_VERSION="${JMX_AGENT_VERSION:-1.0.1}"

# fetch <maven path without extension> <destination file>
fetch() {
  url="$REPO/$1.jar"
  dest="$2"
  mkdir -p "$(dirname "$dest")"
  want="$(curl -fsSL "$url.sha1" | cut -c1-40)"
  if [ -f "$dest" ] && [ "$(sha1sum "$dest" | cut -c1-40)" = "$want" ]; then
    echo "fetch-jars: $dest up to date"
    return 0
  fi
  curl -fsSL -o "$dest.part" "$url"
  got="$(sha1sum "$dest.part" | cut -c1-40)"
  if [ "$got" != "$want" ]; then
    echo "fetch-jars: checksum mismatch for $url (got $got, want $want)" >&2
    rm -f "$dest.part"
    exit 1
  fi
  chmod 0644 "$dest.part"
  mv "$dest.part" "$dest"
  echo "fetch-jars: $dest <- $url"
}

fetch "io/prometheus/jmx/jmx_prometheus_javaagent/$JMX_AGENT_VERSION/jmx_prometheus_javaagent-$JMX_AGENT_VERSION" \
  /jars/jmx-agent/jmx_prometheus_javaagent.jar
#!/bin/sh
# Build cdc-orders-job.jar the way scripts/stack/stack.py (build_job_jar) does for the local stack:
# javac --release 17 against Flink's lib/* plus kafka-clients, then the kafka-clients classes are
# bundled into the job jar (no Flink Kafka connector: the source reads the topic with the plain client).
#
#   build-jar.sh <flink lib dir> <kafka-clients jar> <src/main/java dir> <output jar>
#
# Used by this folder's Dockerfile (compose service `flink-job-init`); needs a JDK 17+ (javac, jar).
set -eu

abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
FLINK_LIB="$(abs "$1")"
KAFKA_CLIENTS="$(abs "$2")"
SRC="$(abs "$3")"
OUT="$(abs "$4")"
MAIN=com.dataflow.flink.CdcOrdersEnrichJob

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/classes"
find "$SRC" -name '*.java' | sort > "$work/sources"
javac --release 17 -nowarn -encoding UTF-8 -cp "$FLINK_LIB/*:$KAFKA_CLIENTS" -d "$work/classes" @"$work/sources"
# kafka-clients inside the job jar, without its manifest and signature files.
(cd "$work/classes" && jar xf "$KAFKA_CLIENTS" && rm -f META-INF/MANIFEST.MF META-INF/*.SF META-INF/*.RSA META-INF/*.DSA)
mkdir -p "$(dirname "$OUT")"
jar --create --file "$OUT" --main-class "$MAIN" -C "$work/classes" .
echo "build-jar: $OUT"

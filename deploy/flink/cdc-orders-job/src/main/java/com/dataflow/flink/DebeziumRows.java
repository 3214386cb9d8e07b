package com.dataflow.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reading Debezium change events as Kafka Connect's JsonConverter writes them, with
 * {@code schemas.enable=true} ({"schema": ..., "payload": {...}}) or false (the payload alone).
 */
final class DebeziumRows {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private DebeziumRows() {}

    /** The envelope's payload ({before, after, source, op, ...}), or null for a tombstone / non-event. */
    static JsonNode payload(String value) throws IOException {
        if (value == null) {
            return null;
        }
        JsonNode root = MAPPER.readTree(value);
        if (root == null || root.isNull()) {
            return null;
        }
        if (root.has("schema") && root.has("payload")) {
            root = root.get("payload");
        }
        if (root == null || root.isNull() || !root.has("op")) {
            return null;
        }
        return root;
    }

    /** The row image the event carries: "after", or "before" for a delete. */
    static JsonNode row(JsonNode payload) {
        JsonNode after = payload.get("after");
        if (after != null && !after.isNull()) {
            return after;
        }
        JsonNode before = payload.get("before");
        return before != null && before.isNull() ? null : before;
    }

    /** "db.table" from the event's source block. */
    static String table(JsonNode payload) {
        JsonNode source = payload.get("source");
        if (source == null) {
            return "?";
        }
        return source.path("db").asText("?") + "." + source.path("table").asText("?");
    }

    /** Columns of the row that the contract does not know. */
    static Set<String> unknownColumns(JsonNode row, Set<String> known) {
        Set<String> unknown = new TreeSet<>();
        if (row == null) {
            return unknown;
        }
        Iterator<String> names = row.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!known.contains(name)) {
                unknown.add(name);
            }
        }
        return unknown;
    }

    /** Contract columns the row lacks. */
    static List<String> missingColumns(JsonNode row, Set<String> known) {
        List<String> missing = new ArrayList<>();
        if (row == null) {
            return missing;
        }
        for (String name : known) {
            if (!row.has(name)) {
                missing.add(name);
            }
        }
        return missing;
    }

    /** True when the value is a Debezium change event (not a tombstone or another message). */
    static boolean isChangeEvent(String value) {
        try {
            return payload(value) != null;
        } catch (IOException e) {
            return true;
        }
    }

    /** True when the record's row does not match the contract (a column added or dropped). */
    static boolean drifted(String value, Set<String> known) {
        try {
            JsonNode payload = payload(value);
            if (payload == null) {
                return false;
            }
            JsonNode row = row(payload);
            return !unknownColumns(row, known).isEmpty() || !missingColumns(row, known).isEmpty();
        } catch (IOException e) {
            return true;
        }
    }
}

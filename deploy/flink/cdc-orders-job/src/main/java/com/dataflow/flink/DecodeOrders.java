package com.dataflow.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Strict decoder of oltp.orders change events: a row with a column the contract does not know (or
 * without one it requires) fails the task, as a consumer with a fixed schema would, e.g.
 * {@code IllegalStateException: unknown column unexpected_field in oltp.orders}. Records the source
 * marked {@code driftTolerated} (older than a schema revert) are logged and skipped instead.
 */
public class DecodeOrders extends RichFlatMapFunction<CdcRecord, Order> {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeOrders.class);

    private final Set<String> knownColumns;
    private transient Counter decoded;
    private transient Counter skipped;

    public DecodeOrders(Set<String> knownColumns) {
        this.knownColumns = new HashSet<>(knownColumns);
    }

    @Override
    public void open(OpenContext openContext) {
        decoded = getRuntimeContext().getMetricGroup().counter("ordersDecoded");
        skipped = getRuntimeContext().getMetricGroup().counter("driftEventsSkipped");
    }

    @Override
    public void flatMap(CdcRecord record, Collector<Order> out) throws IOException {
        JsonNode payload = DebeziumRows.payload(record.value);
        if (payload == null) {
            return;
        }
        String table = DebeziumRows.table(payload);
        JsonNode row = DebeziumRows.row(payload);
        if (row == null) {
            return;
        }
        Set<String> unknown = DebeziumRows.unknownColumns(row, knownColumns);
        List<String> missing = DebeziumRows.missingColumns(row, knownColumns);
        if (!unknown.isEmpty() || !missing.isEmpty()) {
            String what = !unknown.isEmpty()
                    ? "unknown column " + String.join(", ", unknown) + " in " + table
                    : "missing column " + String.join(", ", missing) + " in " + table;
            if (record.driftTolerated) {
                skipped.inc();
                LOG.warn("decode-orders: skipping {} at {}: the newest events match the contract again", what,
                        record.position());
                return;
            }
            throw new IllegalStateException(what + " (" + record.position() + ")");
        }
        Order order = new Order();
        order.op = payload.path("op").asText();
        order.id = row.path("id").asLong();
        order.customerId = row.path("customer_id").asLong();
        order.status = row.path("status").asText(null);
        order.amount = row.path("amount").asText(null);
        order.currency = row.path("currency").asText(null);
        order.createdAt = row.path("created_at").asText(null);
        decoded.inc();
        out.collect(order);
    }
}

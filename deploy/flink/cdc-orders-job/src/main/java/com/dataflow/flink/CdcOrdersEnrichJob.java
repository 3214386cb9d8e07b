package com.dataflow.flink;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.PrintSink;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * cdc-orders-enrich: Debezium change events of oltp.orders (topic dbserver1.oltp.orders) ->
 * strict decode against the table's contract -> size band -> printed to the TaskManager's .out file.
 *
 * <pre>
 * flink run -d cdc-orders-job.jar --bootstrap 127.0.0.1:19092 --topic dbserver1.oltp.orders \
 *   --columns id,customer_id,status,amount,currency,created_at,updated_at \
 *   [--job-name cdc-orders-enrich] [--group cdc-orders-enrich] \
 *   [--restart-attempts 1000000] [--restart-delay-ms 5000] [--checkpoint-interval-ms 5000]
 * </pre>
 *
 * Checkpoints every {@code --checkpoint-interval-ms} (0: off), retained when the job is cancelled, so
 * it can be resubmitted from its latest checkpoint as well as from a savepoint (the source's Kafka
 * offsets are its state). Where they go is the cluster's {@code execution.checkpointing.dir}.
 *
 * Restart strategy fixed-delay: a drifted event makes the job loop through restarts; with few
 * attempts it ends FAILED ("Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy").
 */
public final class CdcOrdersEnrichJob {
    private CdcOrdersEnrichJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        String jobName = opts.getOrDefault("job-name", "cdc-orders-enrich");
        String bootstrap = require(opts, "bootstrap");
        String topic = opts.getOrDefault("topic", "dbserver1.oltp.orders");
        String group = opts.getOrDefault("group", jobName);
        Set<String> columns = new LinkedHashSet<>(Arrays.asList(require(opts, "columns").split(",")));
        int attempts = Integer.parseInt(opts.getOrDefault("restart-attempts", "1000000"));
        long delayMs = Long.parseLong(opts.getOrDefault("restart-delay-ms", "5000"));
        long checkpointMs = Long.parseLong(opts.getOrDefault("checkpoint-interval-ms", "5000"));

        Configuration conf = new Configuration();
        conf.set(PipelineOptions.NAME, jobName);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, attempts);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(delayMs));
        if (checkpointMs > 0) {
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(checkpointMs));
            conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                    ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);

        env.addSource(new KafkaCdcSource(bootstrap, topic, group, columns), "cdc-orders",
                        TypeInformation.of(CdcRecord.class))
                .uid("cdc-orders")
                .flatMap(new DecodeOrders(columns), TypeInformation.of(Order.class))
                .name("decode-orders")
                .uid("decode-orders")
                .map(new SizeBand(), TypeInformation.of(Order.class))
                .name("enrich-orders")
                .uid("enrich-orders")
                .sinkTo(new PrintSink<>(jobName))
                .name("orders-sink")
                .uid("orders-sink");

        env.execute(jobName);
    }

    /** Size band of an order: large from 200, medium from 20, small below. */
    static final class SizeBand implements MapFunction<Order, Order> {
        private static final BigDecimal LARGE = new BigDecimal("200");
        private static final BigDecimal MEDIUM = new BigDecimal("20");

        @Override
        public Order map(Order order) {
            BigDecimal amount = order.amount == null ? BigDecimal.ZERO : new BigDecimal(order.amount);
            order.sizeBand = amount.compareTo(LARGE) >= 0 ? "large" : amount.compareTo(MEDIUM) >= 0 ? "medium" : "small";
            return order;
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            opts.put(args[i].substring(2), args[++i]);
        }
        return opts;
    }

    private static String require(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return v;
    }
}

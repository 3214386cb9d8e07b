package com.dataflow.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.source.legacy.RichSourceFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the Debezium topic with the plain Kafka client (no Flink Kafka connector is available from
 * the package registries this project can use), parallelism 1.
 *
 * <p>Offsets: the next offset of each partition is operator state (a checkpoint or savepoint holds it),
 * and is also committed to the broker under the consumer group after every batch that went through
 * the whole chain (source -> decode -> sink run in one task, so a decode failure propagates out of
 * {@code collect} before the commit). Where it starts reading: the offsets restored from a checkpoint
 * or savepoint (a job resubmitted with one resumes exactly where that state was taken), else the
 * group's committed offsets, else the earliest. A restart therefore re-reads the record that failed:
 * a strict consumer stuck on a drifted event keeps failing, i.e. the job loops through restarts.
 *
 * <p>Recovery after a revert: on every (re)start the source looks at the newest event of each
 * partition. If that event matches the contract again (the column was dropped and new rows were
 * written), the drift is over: records before that point are passed on with
 * {@code driftTolerated=true}, which the decoder logs and skips instead of failing. If the newest
 * event still carries the drift, nothing is tolerated and the job keeps failing on it.
 */
public class KafkaCdcSource extends RichSourceFunction<CdcRecord> implements CheckpointedFunction {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaCdcSource.class);
    private static final int PROBE_WINDOW = 50;

    private final String bootstrapServers;
    private final String topic;
    private final String groupId;
    private final Set<String> knownColumns;

    private volatile boolean running = true;
    private transient KafkaConsumer<String, String> consumer;
    /** Partition -> next offset to read; written under the checkpoint lock, snapshotted under it. */
    private transient Map<Integer, Long> positions;
    private transient Map<Integer, Long> restored;
    private transient ListState<String> offsetState;

    public KafkaCdcSource(String bootstrapServers, String topic, String groupId, Set<String> knownColumns) {
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.groupId = groupId;
        this.knownColumns = new HashSet<>(knownColumns);
    }

    @Override
    public void open(OpenContext openContext) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, groupId + "-source");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        consumer = new KafkaConsumer<>(props);
    }

    @Override
    public void run(SourceContext<CdcRecord> ctx) throws Exception {
        List<TopicPartition> partitions = waitForPartitions();
        if (partitions.isEmpty()) {
            return; // cancelled while waiting
        }
        consumer.assign(partitions);
        Map<TopicPartition, Long> tolerateBefore = probeNewestEvents(partitions);

        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(partitions));
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata om = committed.get(tp);
            Long fromState = restored.get(tp.partition());
            String from;
            if (fromState != null) {
                consumer.seek(tp, fromState);
                from = "restored from checkpoint/savepoint";
            } else if (om != null) {
                consumer.seek(tp, om.offset());
                from = "committed";
            } else {
                consumer.seekToBeginning(List.of(tp));
                from = "no commit: earliest";
            }
            synchronized (ctx.getCheckpointLock()) {
                positions.put(tp.partition(), consumer.position(tp));
            }
            LOG.info("cdc-orders: reading {} from offset {} ({}), drift tolerated before offset {}",
                    tp, consumer.position(tp), from, tolerateBefore.get(tp));
        }

        while (running) {
            ConsumerRecords<String, String> records;
            try {
                records = consumer.poll(Duration.ofMillis(500));
            } catch (WakeupException e) {
                break;
            }
            if (records.isEmpty()) {
                continue;
            }
            Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
            for (ConsumerRecord<String, String> r : records) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                boolean tolerated = r.offset() < tolerateBefore.getOrDefault(tp, -1L);
                // Emit and advance the position atomically w.r.t. snapshotState (same lock).
                synchronized (ctx.getCheckpointLock()) {
                    if (r.value() != null) {
                        ctx.collect(new CdcRecord(r.topic(), r.partition(), r.offset(), r.value(), tolerated));
                    }
                    positions.put(r.partition(), r.offset() + 1);
                }
                done.put(tp, new OffsetAndMetadata(r.offset() + 1));
            }
            consumer.commitSync(done);
        }
    }

    private List<TopicPartition> waitForPartitions() throws InterruptedException {
        long lastLog = 0;
        while (running) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
            } catch (WakeupException e) {
                return List.of();
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                infos = null;
            }
            if (infos != null && !infos.isEmpty()) {
                List<TopicPartition> tps = new ArrayList<>();
                for (PartitionInfo p : infos) {
                    tps.add(new TopicPartition(topic, p.partition()));
                }
                return tps;
            }
            if (System.currentTimeMillis() - lastLog > 30_000) {
                LOG.info("cdc-orders: waiting for topic {} on {}", topic, bootstrapServers);
                lastLog = System.currentTimeMillis();
            }
            Thread.sleep(1000);
        }
        return List.of();
    }

    /**
     * For each partition: if the newest non-tombstone event matches the contract, drift before the
     * partition's end is over (tolerated); if it is drifted (or there is none), tolerate nothing.
     */
    private Map<TopicPartition, Long> probeNewestEvents(List<TopicPartition> partitions) {
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        Map<TopicPartition, Long> tolerateBefore = new HashMap<>();
        for (TopicPartition tp : partitions) {
            long b = begin.getOrDefault(tp, 0L);
            long e = end.getOrDefault(tp, 0L);
            tolerateBefore.put(tp, -1L);
            if (e <= b) {
                continue;
            }
            consumer.seek(tp, Math.max(b, e - PROBE_WINDOW));
            Boolean newestDrifted = null;
            long deadline = System.currentTimeMillis() + 15_000;
            while (running && consumer.position(tp) < e && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500)).records(tp)) {
                    if (r.offset() < e && r.value() != null && DebeziumRows.isChangeEvent(r.value())) {
                        newestDrifted = DebeziumRows.drifted(r.value(), knownColumns);
                    }
                }
            }
            if (Boolean.FALSE.equals(newestDrifted)) {
                tolerateBefore.put(tp, e);
            }
            LOG.info("cdc-orders: newest event of {} before offset {} is {}", tp, e,
                    newestDrifted == null ? "absent" : newestDrifted ? "drifted: strict" : "clean: earlier drift tolerated");
        }
        return tolerateBefore;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        offsetState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("kafka-offsets", String.class));
        restored = new HashMap<>();
        if (context.isRestored()) {
            for (String entry : offsetState.get()) {   // "partition:nextOffset"
                String[] parts = entry.split(":", 2);
                restored.put(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
            }
            LOG.info("cdc-orders: restored offsets {}", restored);
        }
        positions = new ConcurrentHashMap<>(restored);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        offsetState.clear();
        for (Map.Entry<Integer, Long> e : positions.entrySet()) {
            offsetState.add(e.getKey() + ":" + e.getValue());
        }
    }

    @Override
    public void cancel() {
        running = false;
        if (consumer != null) {
            consumer.wakeup();
        }
    }

    @Override
    public void close() {
        if (consumer != null) {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.warn("cdc-orders: closing the consumer failed", e);
            }
        }
    }
}

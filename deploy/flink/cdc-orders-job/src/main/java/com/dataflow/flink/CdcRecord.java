package com.dataflow.flink;

/**
 * One Kafka record of the CDC topic as the source hands it to the decoder: the raw Debezium JSON
 * (Connect's JsonConverter output) plus where it came from. {@code driftTolerated} is set by the
 * source for records older than a schema revert (see {@link KafkaCdcSource}).
 * A Flink POJO: public no-arg constructor and public fields.
 */
public class CdcRecord {
    public String topic;
    public int partition;
    public long offset;
    public String value;
    public boolean driftTolerated;

    public CdcRecord() {}

    public CdcRecord(String topic, int partition, long offset, String value, boolean driftTolerated) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.value = value;
        this.driftTolerated = driftTolerated;
    }

    public String position() {
        return topic + "[" + partition + "]@" + offset;
    }
}

-- Flink SQL job `orders-enrichment`: reads Debezium change events of oltp.orders from Kafka topic
-- dbserver1.oltp.orders and prints an enriched changelog (see `docker compose logs flink-taskmanager`).
-- Submitted by deploy/flink/submit-orders-enrichment.sh (one-shot service `flink-sql-init`).
--
-- Jars: the Kafka table connector (flink-sql-connector-kafka, not in the Flink image) is downloaded
-- by the `fetch-jars` service and copied into /opt/flink/lib of the JobManager, TaskManager and SQL
-- client by deploy/flink/with-connector-jars.sh. The debezium-json format is in the image's
-- flink-json jar. Column types follow scripts/sql/oltp_orders.sql and the connector config
-- (decimal.handling.mode=string, TIMESTAMP columns arrive as ISO-8601 strings).

-- The job name is what the bot, the alerts (job_name label) and config/pipelines.yml refer to.
SET 'pipeline.name' = 'orders-enrichment';
SET 'execution.checkpointing.interval' = '30s';
-- Keep restarting with backoff on failure: numRestarts then climbs, which is the runbook's signal
-- (FlinkJobRestarting), instead of the job ending FAILED after a few attempts.
SET 'restart-strategy.type' = 'exponential-delay';
SET 'restart-strategy.exponential-delay.initial-backoff' = '1 s';
SET 'restart-strategy.exponential-delay.max-backoff' = '1 min';

CREATE TABLE orders_cdc (
  id          BIGINT,
  customer_id BIGINT,
  status      STRING,
  amount      STRING,
  currency    STRING,
  created_at  STRING,
  updated_at  STRING,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'kafka',
  'topic' = 'dbserver1.oltp.orders',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'orders-enrichment',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'debezium-json',
  -- Connect's JsonConverter runs with schemas.enable=true (docker-compose.yml), so each message is
  -- {"schema": ..., "payload": ...}.
  'debezium-json.schema-include' = 'true',
  -- A message that does not parse fails the job (and restarts it) instead of being skipped silently.
  'debezium-json.ignore-parse-errors' = 'false'
);

CREATE TABLE orders_enriched (
  id          BIGINT,
  customer_id BIGINT,
  status      STRING,
  amount      DECIMAL(12, 2),
  currency    STRING,
  size_band   STRING,
  created_at  STRING,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'print',
  'print-identifier' = 'orders-enrichment'
);

INSERT INTO orders_enriched
SELECT
  id,
  customer_id,
  status,
  CAST(amount AS DECIMAL(12, 2)),
  currency,
  CASE
    WHEN CAST(amount AS DECIMAL(12, 2)) >= 200 THEN 'large'
    WHEN CAST(amount AS DECIMAL(12, 2)) >= 20 THEN 'medium'
    ELSE 'small'
  END,
  created_at
FROM orders_cdc;

"""I/O clients for the backends (Kafka Connect, Flink, MySQL, Docker): typed results, typed errors."""

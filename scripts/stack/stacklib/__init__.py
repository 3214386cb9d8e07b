"""The local real stack, one module per concern (scripts/stack/README.md). Standard library only.

    settings     versions, ports and options (environment overrides), the pipeline's source files
    layout       where each piece keeps its state under STACK_DIR
    common       StackError, say(), run(), write_text(), tail()
    probes       health probes (HTTP, MySQL handshake, Kafka ApiVersions) and poll() with a deadline
    credentials  generated passwords and webhook token (secrets.env)
    proc         Proc: start a long-running piece, wait for health, stop it (TERM, then KILL)
    install      download and unpack the pieces (pip wheels, the Jetty .deb)
    mariadb, broker, connect, flink, monitoring   one Proc per piece (monitoring: Prometheus, Alertmanager)
    connector    the Debezium connector over Connect's REST API
    job          build, submit and cancel the Flink job
    lifecycle    up (parallel, in dependency order) and down (then verify nothing is left)
    status       the status table, stack.env and stack.json
"""

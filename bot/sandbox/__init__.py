"""The sandbox: Slack emulator, Kafka Connect / Flink simulators and a fake Docker Engine API.

Product code: `dataflow-bot demo` runs on it, and the tests use it in place of the real services.
Every piece speaks the real protocol over real HTTP on localhost.
"""

"""Graphs of the pipeline's metrics for an incident (Prometheus -> PNG) and its lag, for the thread."""

"""The alert path: Alertmanager payload -> intake -> worker -> fold -> publish (poster, enrichment)."""

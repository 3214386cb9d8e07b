"""The postmortem: timeline capture helpers, the pure Markdown builder, and its export.

Kept light on purpose: bot/incidents/enrich.py imports record_forensics from here, and export pulls in the
backends, so importing export here would make a cycle.
"""

from bot.postmortem.record import record_forensics

__all__ = ["record_forensics"]

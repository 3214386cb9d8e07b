"""`python -m bot` is `dataflow-bot`."""

from bot.cli import app

app()

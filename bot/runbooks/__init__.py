"""Runbooks as data: YAML definitions validated by pydantic, run by the engine over a registry of actions."""

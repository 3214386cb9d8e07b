"""Typed errors. One Bolt error handler and one HTTP handler turn them into user-facing text."""

from __future__ import annotations


class DataflowError(Exception):
    """Base class: every error a user may see. `str(err)` is safe to show (already redacted)."""

    hint: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint or self.hint

    def user_text(self) -> str:
        text = str(self)
        return f"{text}\n{self.hint}" if self.hint else text


class UserInputError(DataflowError):
    """The user typed something we cannot act on (unknown subcommand, bad identifier...)."""


class NotFoundError(UserInputError):
    """An incident, connector, table or runbook that does not exist."""


class PermissionDenied(DataflowError):
    """The user may not do this (not an approver, approving their own request...)."""


class ApprovalError(DataflowError):
    """An approval is expired, already decided, or void because the world changed."""


class BackendError(DataflowError):
    """A backend (Kafka Connect, Flink, MySQL, Docker, Slack) did not answer as expected.

    `backend` names it, `where` is its address (never with credentials), `reason` says why:
    "timed out after 5.0 s", "connection refused", "HTTP 401", "invalid JSON"...
    """

    def __init__(self, backend: str, where: str, reason: str) -> None:
        self.backend = backend
        self.where = where
        self.reason = reason
        super().__init__(f"{backend} at {where}: {reason}")


class ConfigError(DataflowError):
    """One or more settings are missing, malformed or unreachable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

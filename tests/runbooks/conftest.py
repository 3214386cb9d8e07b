"""Deps wired to real Redis, shared with the postmortem tests."""

from tests.postmortem.conftest import make_deps, slack  # noqa: F401  (fixtures)

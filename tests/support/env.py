"""The environment a CLI test runs in: none of the developer's own UNIONBOT_* settings."""

from __future__ import annotations

import os

import pytest


def clean_unionbot_env(monkeypatch: pytest.MonkeyPatch, actor: str | None = None) -> None:
    """Drop every ``UNIONBOT_*`` variable (``UNIONBOT_TEST_*`` stay: they name the test services);
    ``actor`` becomes ``UNIONBOT_ACTOR``, the name CLI actions are audited under."""
    for name in list(os.environ):
        if name.startswith("UNIONBOT_") and not name.startswith("UNIONBOT_TEST_"):
            monkeypatch.delenv(name)
    if actor is not None:
        monkeypatch.setenv("UNIONBOT_ACTOR", actor)

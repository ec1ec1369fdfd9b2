"""Helpers for tests that point the product at the Opik stand-in through Opik's own variables."""

from __future__ import annotations

import pytest

from trip_planner.core.tracing import OPIK_CONFIG_VARIABLES

# Everything the opik SDK reads that could send a test run elsewhere than the stand-in.
OPIK_ROUTING_VARIABLES = (*OPIK_CONFIG_VARIABLES, "OPIK_PROJECT_NAME", "OPIK_TRACK_DISABLE", "OPIK_CONFIG_PATH")


def point_opik_at(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    """Configure Opik for the stand-in at `url` (None: Opik not configured at all).

    The SDK reads its configuration when a client is created, so this must run before the runner
    (and so the tracer) is built.
    """
    for name in OPIK_ROUTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPIK_SENTRY_ENABLE", "false")
    monkeypatch.setenv("OPIK_ANALYTICS_ENABLE", "false")
    if url is not None:
        monkeypatch.setenv("OPIK_URL_OVERRIDE", url)

"""Tracing hooks the core calls; a no-op until Opik is configured.

The core talks to a `Tracer`, never to the opik SDK directly, so a conversation never waits on, or
fails because of, the tracing backend.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass
class TurnTrace:
    """What one user query's trace collects while the turn runs."""

    conversation_id: str
    query_num: int
    query: str
    answer: str | None = None
    trace: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def trace_id(self) -> str | None:
        """The backend's id of this query's trace, stored with the conversation so feedback given
        after a restart still lands on the last query."""
        return getattr(self.trace, "id", None)


class Tracer(Protocol):
    def instrument_agent(self, agent: Any) -> None: ...

    def conversation_started(
        self, *, user_id: str, session_id: str, conversation_id: str, started_at: float
    ) -> None: ...

    def conversation_ended(
        self,
        *,
        user_id: str,
        session_id: str,
        conversation_id: str,
        started_at: float,
        reason: str,
        feedback: str | None,
        total_queries: int,
    ) -> None: ...

    def turn(
        self, *, user_id: str, session_id: str, conversation_id: str, query: str, query_num: int
    ) -> Any: ...

    def feedback(self, *, conversation_id: str, value: float, last_trace_id: str | None = None) -> None: ...

    def get_conversation_trace(self, conversation_id: str) -> Any: ...

    def create_query_span(self, conversation_id: str, query: str, query_num: int) -> Any: ...

    def flush(self, timeout_s: float) -> None: ...


class NullTracer:
    """Tracing off: every hook returns at once and records nothing."""

    def instrument_agent(self, agent: Any) -> None:
        return None

    def conversation_started(
        self, *, user_id: str, session_id: str, conversation_id: str, started_at: float
    ) -> None:
        return None

    def conversation_ended(
        self,
        *,
        user_id: str,
        session_id: str,
        conversation_id: str,
        started_at: float,
        reason: str,
        feedback: str | None,
        total_queries: int,
    ) -> None:
        return None

    @contextmanager
    def turn(
        self, *, user_id: str, session_id: str, conversation_id: str, query: str, query_num: int
    ) -> Iterator[TurnTrace]:
        yield TurnTrace(conversation_id=conversation_id, query_num=query_num, query=query)

    def feedback(self, *, conversation_id: str, value: float, last_trace_id: str | None = None) -> None:
        return None

    def get_conversation_trace(self, conversation_id: str) -> Any:
        return None

    def create_query_span(self, conversation_id: str, query: str, query_num: int) -> Any:
        return None

    def flush(self, timeout_s: float) -> None:
        return None


OPIK_CONFIG_VARIABLES = ("OPIK_API_KEY", "OPIK_URL_OVERRIDE", "OPIK_WORKSPACE")


def opik_configured(env: Mapping[str, str] | None = None) -> bool:
    """Opik is on when the operator named a backend (Opik Cloud key/workspace or a self-hosted URL).

    `OPIK_TRACK_DISABLE=true` switches it off again, as it does for the SDK itself.
    """
    env = os.environ if env is None else env
    if (env.get("OPIK_TRACK_DISABLE") or "").strip().lower() in {"1", "true", "yes"}:
        return False
    return any((env.get(name) or "").strip() for name in OPIK_CONFIG_VARIABLES)


def build_tracer(settings: Any, env: Mapping[str, str] | None = None) -> Tracer:
    """The tracer the settings ask for: Opik when configured, else NullTracer.

    Not configured means no opik import at all (importing it starts the SDK's error reporting) and
    so no network call; one INFO line says how to turn tracing on.
    """
    if not opik_configured(env):
        log.info("Opik tracing off: set OPIK_API_KEY (Opik Cloud) or OPIK_URL_OVERRIDE (self-hosted) to turn it on")
        return NullTracer()
    try:
        from trip_planner.core.opik_tracing import OpikConversationTracer

        return OpikConversationTracer(
            project_name=getattr(settings, "opik_project", None) or "AI Travel Planner",
            app_name=getattr(settings, "app_name", None) or "trip_planner",
        )
    except Exception:
        log.warning("Opik tracing could not start; continuing without tracing", exc_info=True)
        return NullTracer()

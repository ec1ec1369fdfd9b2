"""What the core calls to trace a conversation: the `Tracer` protocol and its no-op.

The core talks to a `Tracer`, never to the opik SDK directly, so a conversation never waits on, or
fails because of, the tracing backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


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

    async def delete_threads(self, conversation_ids: list[str]) -> bool: ...


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

    async def delete_threads(self, conversation_ids: list[str]) -> bool:
        return True

"""The Opik implementation of the `Tracer` protocol: one thread per conversation, one trace per query.

What lands in Opik (project `Settings.opik_project`):
- every user query is a trace `user_query_{n}` in the thread `thread_id = conversation_id`, with input
  `{query, query_num}`, output `{answer}`, metadata (conversation_id, user_id, session_id, platform,
  app) and tags `["conversation", "trip_planner", <platform>]`;
- the model and tool calls of the turn are `llm` / `tool` spans inside that trace, recorded by opik's
  ADK integration. With ADK 2.x that integration opens its own trace in "Default Project" with no
  thread, so each turn is wrapped in `opik.start_as_current_trace(...)`: the integration then nests
  its spans under our trace instead;
- each conversation also gets one record trace `conversation` (outside the thread, so the thread
  holds exactly the queries) that opens at start with user_id / session_id / conversation_id / app
  and closes at the end with the reason and `total_queries` (the seed's conversation-level record);
- feedback is the thread score `user_satisfaction` (1.0 / 0.0) plus the same score on the last query
  trace of the conversation.

Never in the way: every call into the SDK only enqueues work for its background sender (no REST call
on the event loop), each hook swallows and logs its own failures, and `flush()` returns within its
timeout even with the backend down (the SDK alone waits its full flush timeout, and at interpreter
exit about 11 s more). Enqueueing is cheap but not free: the ADK integration converts every model
request to a dict and the SDK's threads serialise and compress under the GIL, which costs a turn
20-30 % for data that cannot be delivered while the backend is down or failing. So a circuit breaker
(`CircuitBreaker`) watches the SDK's own HTTP traffic; while it is open, turns run untraced (no
trace, no ADK spans, no records or feedback) and it probes the backend in a background thread until
it answers again.

Import this module only through `build_tracer` (which sets the SDK's quiet defaults first): importing
opik starts its error reporting.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import opik
from opik import context_storage
from opik import httpx_client as opik_httpx

from trip_planner.core.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    watch_http_client,
)
from trip_planner.core.tracing.base import TurnTrace
from trip_planner.core.tracing.opik_lifecycle import OpikClientLifecycle
from trip_planner.core.tracing.opik_parts import (
    LIVE_TRACERS,
    MAX_REMEMBERED,
    THREAD_SCORE,
    TURN_TRACED,
    Bounded,
    Record,
    gated_adk_tracer,
    platform_of,
    record_trace_id,
    register_exit_drain,
    sync_tracing_active,
)

__all__ = ["BreakerSettings", "BreakerState", "OpikConversationTracer"]

log = logging.getLogger(__name__)


class OpikConversationTracer(OpikClientLifecycle):
    """Records conversations in Opik; every hook is best effort and never raises."""

    def __init__(
        self,
        *,
        project_name: str,
        app_name: str,
        client: opik.Opik | None = None,
        breaker: BreakerSettings | None = None,
    ) -> None:
        self.project_name = project_name
        self.app_name = app_name
        self._client = client or opik.Opik(project_name=project_name, _show_misconfiguration_message=False)
        # The ADK integration and start_as_current_trace log through the global client.
        opik.set_global_client(self._client)
        self._lock = threading.Lock()
        self._records: Bounded = Bounded(MAX_REMEMBERED)  # conversation_id -> Record
        self._last_trace: Bounded = Bounded(MAX_REMEMBERED)  # conversation_id -> trace id
        self._adk_tracer: Any = None
        self._closed = False
        self._dirty = False
        self._http: httpx.Client | None = None
        self._api_base = ""
        self._unwatch: Callable[[], None] = lambda: None
        self._breaker = CircuitBreaker(
            breaker or BreakerSettings(), probe=self._probe, on_change=lambda _state: sync_tracing_active()
        )
        try:
            self._http, self._api_base = opik_httpx.upload_transport(self._client.rest_client)
            self._unwatch = watch_http_client(self._http, self._breaker)
        except Exception:
            log.warning("Opik: cannot watch the SDK's HTTP client; tracing continues without a breaker", exc_info=True)
        LIVE_TRACERS.add(self)
        register_exit_drain()
        # The ADK integration patches ADK process-wide; shutdown() switches it off again.
        sync_tracing_active()
        try:
            where = self._client.config.url_override
        except Exception:
            log.debug("Opik: client has no readable URL", exc_info=True)
            where = "(unknown URL)"
        log.info("Opik tracing on: project %r at %s", project_name, where)

    @property
    def client(self) -> opik.Opik:
        return self._client

    @property
    def breaker_state(self) -> BreakerState:
        """`closed` while tracing, `open` / `half_open` while the backend is down or failing."""
        return self._breaker.state

    @property
    def breaker_opened_count(self) -> int:
        """How many times the breaker has opened since this tracer started."""
        return self._breaker.opened_count

    def tracing_now(self) -> bool:
        """Whether a turn starting now is recorded: not shut down and the breaker closed."""
        return not self._closed and self._breaker.allows()

    def _probe(self) -> str | None:
        """Ask the API (not just the ping, which a failing backend still passes) whether it works.

        Runs on the breaker's watcher thread only, through the SDK's own HTTP client so the
        operator's credentials and workspace apply. None means the backend answered properly.
        """
        if self._http is None:
            return None
        base = self._api_base.rstrip("/")
        try:
            response = self._http.get(
                f"{base}/v1/private/projects",
                params={"page": 1, "size": 1},
                timeout=self._breaker.settings.probe_timeout_s,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code >= 500:
            return f"HTTP {response.status_code}"
        return None

    # -- the Tracer protocol ----------------------------------------------------------------------

    def instrument_agent(self, agent: Any) -> None:
        """Attach opik's ADK callbacks to the agent tree (llm and tool spans inside each turn)."""
        try:
            from opik.integrations.adk import track_adk_agent_recursive

            self._adk_tracer = gated_adk_tracer(
                self.tracing_now,
                project_name=self.project_name,
                tags=["trip_planner"],
                metadata={"app": self.app_name},
            )
            track_adk_agent_recursive(agent, self._adk_tracer)
        except Exception:
            log.warning("Opik could not instrument the agent; turns are traced without spans", exc_info=True)

    def _record_for(self, *, user_id: str, session_id: str, conversation_id: str, started_at: float) -> Record:
        """The conversation's record trace, rebuilt identically from stored facts in any process."""
        platform = platform_of(user_id)
        return Record(
            input={"user_id": user_id, "session_id": session_id, "conversation_id": conversation_id, "app": self.app_name},
            metadata=self._metadata(
                conversation_id=conversation_id, user_id=user_id, session_id=session_id, platform=platform
            ),
            tags=["conversation_record", "trip_planner", platform],
            id=record_trace_id(conversation_id, started_at),
            start_time=datetime.datetime.fromtimestamp(started_at, datetime.UTC),
        )

    def conversation_started(
        self, *, user_id: str, session_id: str, conversation_id: str, started_at: float
    ) -> None:
        if not self.tracing_now():
            return  # breaker open: records are dropped, never queued for a backend that is away
        try:
            record = self._record_for(
                user_id=user_id, session_id=session_id, conversation_id=conversation_id, started_at=started_at
            )
            record.handle = self._client.trace(**record.create_arguments(), project_name=self.project_name)
            with self._lock:
                self._records.put(conversation_id, record)
                self._dirty = True
        except Exception:
            log.warning("Opik: could not record the start of conversation %s", conversation_id, exc_info=True)

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
        if self._closed:
            return
        if not self._breaker.allows():
            with self._lock:
                self._records.pop(conversation_id, None)  # its end cannot be recorded: forget it
            return
        try:
            output = {"reason": reason, "feedback": feedback, "total_queries": total_queries}
            with self._lock:
                record = self._records.pop(conversation_id, None)
                self._dirty = True
            if record is None:
                # Started before this process did (a restart): the same id and start make Opik
                # merge this end into the record the earlier process opened.
                record = self._record_for(
                    user_id=user_id, session_id=session_id, conversation_id=conversation_id, started_at=started_at
                )
            # The end is sent as a second create with the same id (Opik merges them, as it does for
            # start_as_current_trace) rather than as an update: with batching, an update can reach
            # the backend before the create it updates and be lost.
            self._client.trace(
                **record.create_arguments(),
                end_time=datetime.datetime.now(datetime.UTC),
                output=output,
                project_name=self.project_name,
            )
        except Exception:
            log.warning("Opik: could not record the end of conversation %s", conversation_id, exc_info=True)

    @contextmanager
    def turn(
        self, *, user_id: str, session_id: str, conversation_id: str, query: str, query_num: int
    ) -> Iterator[TurnTrace]:
        """One query's trace, current for the body so ADK's spans nest under it.

        Failures of the tracing side are logged and swallowed; an exception from the body (the turn
        itself) always propagates unchanged.
        """
        platform = platform_of(user_id)
        metadata = self._metadata(
            conversation_id=conversation_id, user_id=user_id, session_id=session_id, platform=platform
        )
        turn = TurnTrace(conversation_id=conversation_id, query_num=query_num, query=query, metadata=metadata)
        manager: Any = None
        traced = self.tracing_now()
        decided = TURN_TRACED.set(traced)
        if traced:
            try:
                manager = opik.start_as_current_trace(
                    f"user_query_{query_num}",
                    input={"query": query, "query_num": query_num},
                    metadata=metadata,
                    tags=["conversation", "trip_planner", platform],
                    project_name=self.project_name,
                    thread_id=conversation_id or None,
                )
                turn.trace = manager.__enter__()
            except Exception:
                log.warning("Opik: could not open the trace of query %d in %s", query_num, conversation_id, exc_info=True)
                manager = None
                turn.trace = None
        interrupted: BaseException | None = None
        try:
            yield turn
        except BaseException as exc:  # cancellation included: the trace still closes
            interrupted = exc
            raise
        finally:
            if manager is not None:
                self._close_turn(manager, turn, interrupted)
            try:
                TURN_TRACED.reset(decided)
            except ValueError:  # exited in another context than entered: nothing to restore there
                log.debug("Opik: turn left in another context", exc_info=True)

    def _close_turn(self, manager: Any, turn: TurnTrace, interrupted: BaseException | None) -> None:
        try:
            trace_data = turn.trace
            update: dict[str, Any] = {"output": {"answer": turn.answer}}
            if interrupted is not None:
                update["metadata"] = {"interrupted": type(interrupted).__name__}
            trace_data.update(**update)
            with self._lock:
                if turn.conversation_id:
                    self._last_trace.put(turn.conversation_id, trace_data.id)
                self._dirty = True
        except Exception:
            log.warning("Opik: could not record the answer of query %d", turn.query_num, exc_info=True)
        try:
            # The body's exception is not passed in: the SDK would log it as an error in the
            # user's script, and the runner already logs its own failures.
            manager.__exit__(None, None, None)
        except Exception:
            log.warning("Opik: could not close the trace of query %d", turn.query_num, exc_info=True)
            # Never leave our trace current for whatever this task runs next.
            try:
                context_storage.pop_trace_data(ensure_id=getattr(turn.trace, "id", None))
            except Exception:
                log.debug("Opik: trace context already clear", exc_info=True)

    def feedback(self, *, conversation_id: str, value: float, last_trace_id: str | None = None) -> None:
        """`user_satisfaction` on the thread and on the conversation's last query trace."""
        if not self.tracing_now():
            return  # breaker open: dropped
        try:
            self._client.log_threads_feedback_scores(
                [{"id": conversation_id, "name": THREAD_SCORE, "value": value}], project_name=self.project_name
            )
            with self._lock:
                # The stored id (it survives restarts) wins over this process's memory.
                last = last_trace_id or self._last_trace.get(conversation_id)
                self._dirty = True
            if last is not None:
                self._client.log_traces_feedback_scores(
                    [{"id": last, "name": THREAD_SCORE, "value": value}], project_name=self.project_name
                )
        except Exception:
            log.warning("Opik: could not record feedback for conversation %s", conversation_id, exc_info=True)

    def get_conversation_trace(self, conversation_id: str) -> Any:
        """The seed's meaning: the conversation's own Opik trace (here its record trace), or None."""
        with self._lock:
            record = self._records.get(conversation_id)
        return record.handle if record is not None else None

    def create_query_span(self, conversation_id: str, query: str, query_num: int) -> Any:
        """The seed's meaning: a span `query_{n}` on the conversation trace; the caller ends it."""
        record = self.get_conversation_trace(conversation_id)
        if record is None or not self.tracing_now():
            return None
        try:
            with self._lock:
                self._dirty = True
            return record.span(
                name=f"query_{query_num}", type="general", input={"query": query, "query_num": query_num}
            )
        except Exception:
            log.warning("Opik: could not create the span of query %d", query_num, exc_info=True)
            return None

    def _metadata(
        self, *, conversation_id: str, user_id: str, session_id: str | None, platform: str
    ) -> dict[str, Any]:
        return {
            "conversation_id": conversation_id,
            "user_id": user_id,
            "session_id": session_id,
            "platform": platform,
            "app": self.app_name,
        }

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

Import this module only when Opik is configured: importing opik starts its error reporting, so the
quiet defaults below must be in the environment first.
"""

from __future__ import annotations

import atexit
import contextvars
import datetime
import hashlib
import logging
import os
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from trip_planner.core.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    safely,
    watch_http_client,
)
from trip_planner.core.tracing import TurnTrace

log = logging.getLogger(__name__)

# The SDK reports its errors to Comet's Sentry and usage analytics to Comet by default. A trip planner
# sends neither unless its operator opts in; an explicit operator value always wins.
QUIET_DEFAULTS: dict[str, str] = {
    "OPIK_SENTRY_ENABLE": "false",
    "OPIK_ANALYTICS_ENABLE": "false",
    # Bounds the SDK's own atexit drain (it has no bound by default) in case flush() never ran.
    "OPIK_DEFAULT_FLUSH_TIMEOUT": "2",
}

THREAD_SCORE = "user_satisfaction"
RECORD_TRACE_NAME = "conversation"
DEFAULT_FLUSH_TIMEOUT_S = 2.0
_MAX_REMEMBERED = 10_000  # conversations whose record / last trace id we keep in memory


def apply_quiet_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Set Opik's privacy defaults without overriding what the operator set."""
    target = os.environ if env is None else env
    for name, value in QUIET_DEFAULTS.items():
        target.setdefault(name, value)


apply_quiet_defaults()

import httpx
import opik
from opik import context_storage, id_helpers
from opik import httpx_client as opik_httpx
from opik.api_objects import opik_client


def platform_of(user_id: str) -> str:
    """The chat platform encoded in the session user id (`slack:…`, `discord:…`, `console:…`)."""
    prefix, sep, _ = user_id.partition(":")
    return prefix if sep and prefix in {"slack", "discord", "console"} else "other"


class _Bounded(OrderedDict[str, Any]):
    """An insertion-ordered map that forgets its oldest entries: the tracer must not grow forever."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


def record_trace_id(conversation_id: str, started_at: float) -> str:
    """A UUIDv7 (Opik's id format) derived from the conversation: its start in the timestamp bits,
    a hash of its id in the random bits. Any process can name the record trace without storing it."""
    millis = int(started_at * 1000) & ((1 << 48) - 1)
    digest = hashlib.sha256(conversation_id.encode()).digest()
    rand_a = int.from_bytes(digest[:2], "big") & 0x0FFF
    rand_b = int.from_bytes(digest[2:10], "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=(millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b))


@dataclass
class _Record:
    """The conversation's record trace: kept whole so its end can be sent as a complete trace."""

    input: dict[str, Any]
    metadata: dict[str, Any]
    tags: list[str]
    id: str = field(default_factory=lambda: id_helpers.generate_id())
    start_time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    handle: Any = None  # the SDK's Trace object, for the seed API (spans on the conversation trace)

    def create_arguments(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": RECORD_TRACE_NAME,
            "start_time": self.start_time,
            "input": self.input,
            "metadata": self.metadata,
            "tags": self.tags,
        }


_LIVE_TRACERS: weakref.WeakSet[OpikConversationTracer] = weakref.WeakSet()

# Whether the turn running in this context is traced, decided once when it starts: the ADK
# callbacks follow that decision, so a breaker that opens or closes mid-turn never leaves a turn
# half traced (an llm span opened without its trace, or left on the context stack). None outside
# a turn: the callbacks then follow the breaker as it stands.
_TURN_TRACED: contextvars.ContextVar[bool | None] = contextvars.ContextVar("trip_planner_turn_traced", default=None)


def _sync_tracing_active() -> None:
    """Switch the SDK's process-wide tracing flag to match the live tracers and their breakers.

    The ADK integration patches ADK's own OpenTelemetry tracer process-wide and sends what it
    records only while `opik.is_tracing_active()`: off while every breaker is open (and after the
    last tracer shut down), so an untraced turn sends nothing through that path either.
    """
    try:
        opik.set_tracing_active(any(tracer.tracing_now() for tracer in list(_LIVE_TRACERS)))
    except Exception:
        log.debug("Opik: could not switch the SDK's tracing flag", exc_info=True)


def _gated_adk_tracer(allows: Callable[[], bool], **arguments: Any) -> Any:
    """opik's ADK `OpikTracer`, whose callbacks do nothing in a turn that is not traced.

    Its callbacks run inside the turn, on the event loop, and are where the integration spends
    (converting each model request to a dict, creating spans): skipping them is most of what an
    open breaker saves. The class is made per tracer so the gate survives ADK copying an agent
    (the SDK's `__getstate__` copies the instance dict, never the class).
    """
    from opik.integrations.adk import OpikTracer

    def traced() -> bool:
        decided = _TURN_TRACED.get()
        return allows() if decided is None else decided

    class GatedOpikTracer(OpikTracer):  # type: ignore[misc]
        def before_agent_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().before_agent_callback(*args, **kwargs) if traced() else None

        def after_agent_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_agent_callback(*args, **kwargs) if traced() else None

        def before_model_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().before_model_callback(*args, **kwargs) if traced() else None

        def after_model_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_model_callback(*args, **kwargs) if traced() else None

        def before_tool_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().before_tool_callback(*args, **kwargs) if traced() else None

        def after_tool_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_tool_callback(*args, **kwargs) if traced() else None

    return GatedOpikTracer(**arguments)


def _shutdown_all() -> None:
    """At interpreter exit, release every client without the SDK's own (long) drain."""
    for tracer in list(_LIVE_TRACERS):
        tracer.shutdown(DEFAULT_FLUSH_TIMEOUT_S)


# Registered after `import opik`, so it runs before the SDK's own atexit drain (LIFO order) and
# leaves that drain nothing to wait for.
atexit.register(_shutdown_all)


class OpikConversationTracer:
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
        self._records: _Bounded = _Bounded(_MAX_REMEMBERED)  # conversation_id -> _Record
        self._last_trace: _Bounded = _Bounded(_MAX_REMEMBERED)  # conversation_id -> trace id
        self._adk_tracer: Any = None
        self._closed = False
        self._dirty = False
        self._http: httpx.Client | None = None
        self._api_base = ""
        self._unwatch: Callable[[], None] = lambda: None
        self._breaker = CircuitBreaker(
            breaker or BreakerSettings(), probe=self._probe, on_change=lambda _state: _sync_tracing_active()
        )
        try:
            self._http, self._api_base = opik_httpx.upload_transport(self._client.rest_client)
            self._unwatch = watch_http_client(self._http, self._breaker)
        except Exception:
            log.warning("Opik: cannot watch the SDK's HTTP client; tracing continues without a breaker", exc_info=True)
        _LIVE_TRACERS.add(self)
        # The ADK integration patches ADK process-wide; shutdown() switches it off again.
        _sync_tracing_active()
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

            self._adk_tracer = _gated_adk_tracer(
                self.tracing_now,
                project_name=self.project_name,
                tags=["trip_planner"],
                metadata={"app": self.app_name},
            )
            track_adk_agent_recursive(agent, self._adk_tracer)
        except Exception:
            log.warning("Opik could not instrument the agent; turns are traced without spans", exc_info=True)

    def _record_for(self, *, user_id: str, session_id: str, conversation_id: str, started_at: float) -> _Record:
        """The conversation's record trace, rebuilt identically from stored facts in any process."""
        platform = platform_of(user_id)
        return _Record(
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
        decided = _TURN_TRACED.set(traced)
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
                _TURN_TRACED.reset(decided)
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

    def flush(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> None:
        """Wait at most `timeout_s` for queued data to reach Opik, then return regardless.

        The SDK's flush runs in a daemon thread because its own bound is not strict (it waits once
        per stage) and a backend that is down makes it wait the whole time.
        """
        if self._closed:
            return
        with self._lock:
            self._dirty = False  # one bounded attempt per batch of writes: exit does not wait again
        if not self._breaker.allows():
            # The backend is known to be down or failing: waiting would only spend the timeout.
            log.debug("Opik: breaker %s, not waiting to flush", self._breaker.state.value)
            return

        def drain() -> None:
            try:
                if not self._client.flush(timeout=timeout_s):  # type: ignore[arg-type]  # float works
                    log.warning("Opik: not everything was sent within %.1fs; the rest may be lost", timeout_s)
            except Exception:
                log.warning("Opik: flush failed", exc_info=True)

        worker = threading.Thread(target=drain, name="opik-flush", daemon=True)
        worker.start()
        worker.join(max(0.0, timeout_s))
        if worker.is_alive():
            log.warning("Opik: flush still running after %.1fs; not waiting longer", timeout_s)

    # -- lifecycle beyond the protocol -----------------------------------------------------------

    def shutdown(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> None:
        """Flush if something is unsent, then release the SDK's sender without its own drain."""
        if self._closed:
            return
        try:
            if self._dirty:
                self.flush(timeout_s)
            self._closed = True
            self._client.end(flush=False)
        except Exception:
            log.debug("Opik: shutdown failed", exc_info=True)
        finally:
            self._closed = True
            _LIVE_TRACERS.discard(self)
            self._breaker.stop()
            safely(self._unwatch)
            try:
                if opik_client.get_current_client_raw() is self._client:
                    opik_client.reset_global_client(end_client=False)
            except Exception:
                log.debug("Opik: could not clear the global client", exc_info=True)
            # ADK stays patched for the life of the process: with no live tracer left the flag
            # goes off, or a later untraced runner would still log traces through an
            # auto-created default client (Opik Cloud, "Default Project").
            _sync_tracing_active()

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

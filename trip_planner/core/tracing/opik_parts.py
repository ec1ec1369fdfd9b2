"""The opik-side pieces the tracer is built from: bounded memory, the record trace's id and shape,
the process-wide tracing flag, the gated ADK callbacks and the exit drain.

Imported only through `build_tracer` (or a test that set the quiet defaults first).
"""

from __future__ import annotations

import atexit
import contextvars
import datetime
import hashlib
import logging
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import opik
from opik import id_helpers

if TYPE_CHECKING:
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

log = logging.getLogger(__name__)

THREAD_SCORE = "user_satisfaction"
RECORD_TRACE_NAME = "conversation"
DEFAULT_FLUSH_TIMEOUT_S = 2.0
MAX_REMEMBERED = 10_000  # conversations whose record / last trace id we keep in memory


def platform_of(user_id: str) -> str:
    """The chat platform encoded in the session user id (`slack:…`, `discord:…`, `console:…`)."""
    prefix, sep, _ = user_id.partition(":")
    return prefix if sep and prefix in {"slack", "discord", "console"} else "other"


class Bounded(OrderedDict[str, Any]):
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
class Record:
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


LIVE_TRACERS: weakref.WeakSet[OpikConversationTracer] = weakref.WeakSet()

# Whether the turn running in this context is traced, decided once when it starts: the ADK
# callbacks follow that decision, so a breaker that opens or closes mid-turn never leaves a turn
# half traced (an llm span opened without its trace, or left on the context stack). None outside
# a turn: the callbacks then follow the breaker as it stands.
TURN_TRACED: contextvars.ContextVar[bool | None] = contextvars.ContextVar("trip_planner_turn_traced", default=None)


def sync_tracing_active() -> None:
    """Switch the SDK's process-wide tracing flag to match the live tracers and their breakers.

    The ADK integration patches ADK's own OpenTelemetry tracer process-wide and sends what it
    records only while `opik.is_tracing_active()`: off while every breaker is open (and after the
    last tracer shut down), so an untraced turn sends nothing through that path either.
    """
    try:
        opik.set_tracing_active(any(tracer.tracing_now() for tracer in list(LIVE_TRACERS)))
    except Exception:
        log.debug("Opik: could not switch the SDK's tracing flag", exc_info=True)


def span_request(llm_request: Any) -> Any:
    """The model request as its `llm` span records it: the model, the instruction and this turn's
    contents (from the person's message on), without the tool declarations and the earlier turns.
    Both are repeated on every call (the declarations are about 22 KB of JSON schema for the
    concierge, the history grows to twelve turns), and the SDK encodes every span in pure Python on
    its background threads, under the GIL the turns need: a batch of full requests stalled turns for
    up to a second. Earlier turns are in the thread's own traces, and the tools the model called are
    spans of their own. The request ADK sends is left untouched."""
    try:
        config, contents = llm_request.config, list(llm_request.contents or [])
        starts = [i for i, c in enumerate(contents) if c.role == "user" and any(p.text for p in c.parts or [])]
        update: dict[str, Any] = {"tools_dict": {}, "contents": contents[starts[-1]:] if starts else contents}
        if config is not None and config.tools:
            update["config"] = config.model_copy(update={"tools": None})
        return llm_request.model_copy(update=update)
    except Exception:  # a request of another shape is traced as it is
        log.debug("Opik: could not trim a model request for its span", exc_info=True)
        return llm_request


def gated_adk_tracer(allows: Callable[[], bool], **arguments: Any) -> Any:
    """opik's ADK `OpikTracer`, whose callbacks do nothing in a turn that is not traced.

    Its callbacks run inside the turn, on the event loop, and are where the integration spends
    (converting each model request to a dict, creating spans): skipping them is most of what an
    open breaker saves. The class is made per tracer so the gate survives ADK copying an agent
    (the SDK's `__getstate__` copies the instance dict, never the class).
    """
    from opik.integrations.adk import OpikTracer

    def traced() -> bool:
        decided = TURN_TRACED.get()
        return allows() if decided is None else decided

    class GatedOpikTracer(OpikTracer):  # type: ignore[misc]
        def before_agent_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().before_agent_callback(*args, **kwargs) if traced() else None

        def after_agent_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_agent_callback(*args, **kwargs) if traced() else None

        def before_model_callback(self, callback_context: Any, llm_request: Any, *args: Any, **kwargs: Any) -> Any:
            if not traced():
                return None
            return super().before_model_callback(callback_context, span_request(llm_request), *args, **kwargs)

        def after_model_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_model_callback(*args, **kwargs) if traced() else None

        def before_tool_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().before_tool_callback(*args, **kwargs) if traced() else None

        def after_tool_callback(self, *args: Any, **kwargs: Any) -> Any:
            return super().after_tool_callback(*args, **kwargs) if traced() else None

    return GatedOpikTracer(**arguments)


def _shutdown_all() -> None:
    """At interpreter exit, release every client without the SDK's own (long) drain."""
    for tracer in list(LIVE_TRACERS):
        tracer.shutdown(DEFAULT_FLUSH_TIMEOUT_S)


_EXIT_DRAIN_REGISTERED = False


def register_exit_drain() -> None:
    """Release every client at exit, once per process. Registered by the first tracer (so after
    `import opik`): atexit runs it before the SDK's own drain (LIFO) and leaves that nothing to wait for."""
    global _EXIT_DRAIN_REGISTERED
    if not _EXIT_DRAIN_REGISTERED:
        atexit.register(_shutdown_all)
        _EXIT_DRAIN_REGISTERED = True



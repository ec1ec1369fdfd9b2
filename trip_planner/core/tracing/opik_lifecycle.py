"""The Opik tracer's life with the SDK's client: flushing within a bound, erasing threads, and
shutting down, each of which waits on the SDK or the backend and so must never wait long.

A mixin of `OpikConversationTracer` (opik_tracer.py), which owns the state used here; kept apart
because it is the part that deals with the SDK's threads and REST calls rather than with what is
recorded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import opik
from opik.api_objects import opik_client

from trip_planner.core.circuit_breaker import CircuitBreaker, safely
from trip_planner.core.tracing.opik_parts import DEFAULT_FLUSH_TIMEOUT_S, LIVE_TRACERS, Bounded, sync_tracing_active

log = logging.getLogger(__name__)


class OpikClientLifecycle:
    """Flush, erase and shut down; the state is the tracer's (set in its `__init__`)."""

    project_name: str
    _client: opik.Opik
    _lock: threading.Lock
    _records: Bounded
    _last_trace: Bounded
    _closed: bool
    _dirty: bool
    _breaker: CircuitBreaker
    _unwatch: Callable[[], None]

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

    async def delete_threads(self, conversation_ids: list[str]) -> bool:
        """Erase these conversations' threads (and their traces) in Opik, for a person's "forget me".

        A REST call, so in a worker thread; False (logged) when the backend refused or is down, so
        the caller can say what remains there.
        """
        if not conversation_ids:
            return True

        def delete() -> None:
            self._client.rest_client.traces.delete_trace_threads(
                thread_ids=list(conversation_ids), project_name=self.project_name
            )

        try:
            await asyncio.to_thread(delete)
        except Exception:
            log.warning("Opik: could not delete %d conversation threads", len(conversation_ids), exc_info=True)
            return False
        with self._lock:
            for conversation_id in conversation_ids:
                self._records.pop(conversation_id, None)
                self._last_trace.pop(conversation_id, None)
        return True

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
            LIVE_TRACERS.discard(self)  # type: ignore[arg-type]  # self is the OpikConversationTracer it mixes into
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
            sync_tracing_active()

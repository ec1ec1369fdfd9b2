"""A circuit breaker for the Opik SDK's HTTP traffic: while the backend is down, failing or hanging,
tracing stops costing anything, and it resumes by itself when the backend answers again.

It watches the SDK's own `httpx.Client` (on the SDK's threads, never the event loop) and confirms a
suspected outage with its own probe on a background thread, so one lost packet does not pause tracing.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)


def safely(call: Callable[[], Any], default: Any = None) -> Any:
    """Bookkeeping runs on the SDK's sending threads: a bug here must never break a send."""
    try:
        return call()
    except Exception:
        log.debug("Opik: breaker bookkeeping failed", exc_info=True)
        return default


class BreakerState(enum.StrEnum):
    """Where the breaker stands; only CLOSED lets turns be traced."""

    CLOSED = "closed"  # the backend answers: trace everything
    OPEN = "open"  # the backend is down or failing: trace nothing until the cool-down ends
    HALF_OPEN = "half_open"  # cool-down over, a probe is asking the backend; still tracing nothing


@dataclass(frozen=True)
class BreakerSettings:
    """How eagerly the breaker opens and how often it looks for a recovered backend."""

    cool_down_s: float = 30.0  # open this long before each recovery probe
    probe_timeout_s: float = 5.0  # a probe waits at most this long for an answer
    # A request to Opik still unanswered after this long is a failure (a hung backend never errs).
    hang_after_s: float = 10.0
    # Consecutive 5xx answers to the SDK's writes that open the breaker even when a probe passes
    # (a backend whose reads work while its writes fail).
    failures_to_open: int = 3
    tick_s: float = 0.5  # how often the watcher thread looks at the clock when nothing wakes it


@dataclass
class _Request:
    """One request the SDK's client has in flight, stamped with the breaker epoch it started in."""

    started: float
    epoch: int


_PRIVATE_API = "/v1/private/"


class CircuitBreaker:
    """Decides from the SDK's own HTTP traffic whether tracing is worth doing right now.

    Why observe the SDK's client rather than only ping: the SDK parks data after a failed ping
    without sending, answers arrive on its background threads (never the event loop), and a backend
    answering 500 still passes `/is-alive/ping`. Signals of trouble (a transport error on any
    request, a 5xx answer, a request in flight longer than `hang_after_s`) wake a watcher thread,
    which confirms with a probe of the API (`probe()` returns None when the backend answered
    properly, else why not) before opening: one lost packet does not switch tracing off for a
    cool-down. `failures_to_open` consecutive 5xx answers to writes open it without a probe.

    Open, it traces nothing; after `cool_down_s` it goes half-open and probes from the watcher
    thread; a proper answer closes it, anything else starts another cool-down. It logs one WARNING
    when it opens and one INFO when it closes. Nothing here runs on, or blocks, the event loop:
    request bookkeeping is a few dict operations under a lock, probes run on the watcher thread.
    """

    def __init__(
        self,
        settings: BreakerSettings,
        probe: Callable[[], str | None],
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.settings = settings
        self._probe = probe
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._epoch = 0  # bumped at every state change: answers to older requests no longer count
        self._in_flight: dict[int, _Request] = {}
        self._next_token = 0
        self._consecutive_failures = 0
        self._suspicion: str | None = None  # a failure seen while closed, waiting for a probe
        self._retry_at = 0.0
        self.opened_count = 0  # how many times it opened (observable by tests and operators)
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="opik-breaker", daemon=True)
        self._thread.start()

    @property
    def state(self) -> BreakerState:
        return self._state

    def allows(self) -> bool:
        """True when tracing should happen (one attribute read: called on every turn and callback)."""
        return self._state is BreakerState.CLOSED

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def on_watcher_thread(self) -> bool:
        """The watcher's own probes are not evidence about the SDK's traffic."""
        return threading.get_ident() == self._thread.ident

    # -- what the SDK's HTTP client reports (its background threads) -----------------------------

    def request_started(self) -> int:
        with self._lock:
            self._next_token += 1
            self._in_flight[self._next_token] = _Request(time.monotonic(), self._epoch)
            return self._next_token

    def request_failed(self, token: int, reason: str) -> None:
        """A transport error (refused, reset, timed out): the backend could not be reached."""
        self._finish(token, failure=reason, write_failure=False)

    def request_answered(self, token: int, path: str, status: int) -> None:
        private = _PRIVATE_API in path
        if status >= 500:
            self._finish(token, failure=f"HTTP {status} on {path}", write_failure=private)
        elif private and (status < 400 or status == 409):  # 409: a retried create, already stored
            self._finish(token, success=True)
        else:
            # The ping passes even when the API fails, and a 4xx is a problem of the request or
            # the credentials, not of availability: neither says anything either way.
            self._finish(token)

    def request_abandoned(self, token: int) -> None:
        self._finish(token)

    def _finish(
        self, token: int, *, failure: str | None = None, write_failure: bool = False, success: bool = False
    ) -> None:
        opened = wake = False
        with self._lock:
            request = self._in_flight.pop(token, None)
            if request is None or request.epoch != self._epoch or self._state is not BreakerState.CLOSED:
                return  # started before the last change of state, or nothing to decide now
            if success:
                self._consecutive_failures = 0
                return
            if failure is None:
                return
            if write_failure:
                self._consecutive_failures += 1
            if write_failure and self._consecutive_failures >= self.settings.failures_to_open:
                self._open_locked(f"{self._consecutive_failures} failed deliveries in a row, last {failure}")
                opened = True
            elif self._suspicion is None:
                self._suspicion = failure
                wake = True
        if opened:
            self._notify(BreakerState.OPEN)
        if wake:
            self._wake.set()

    # -- state changes ---------------------------------------------------------------------------

    def _open_locked(self, reason: str) -> None:
        was = self._state
        self._state = BreakerState.OPEN
        self._epoch += 1
        self._in_flight.clear()
        self._suspicion = None
        self._consecutive_failures = 0
        self._retry_at = time.monotonic() + self.settings.cool_down_s
        if was is BreakerState.CLOSED:
            self.opened_count += 1
            log.warning(
                "Opik backend unreachable or failing (%s): tracing paused, retrying every %.0fs",
                reason,
                self.settings.cool_down_s,
            )

    def _close_locked(self) -> None:
        self._state = BreakerState.CLOSED
        self._epoch += 1
        self._in_flight.clear()
        self._suspicion = None
        self._consecutive_failures = 0
        log.info("Opik backend answering again: tracing resumed")

    def _notify(self, state: BreakerState) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(state)
        except Exception:
            log.debug("Opik: breaker state listener failed", exc_info=True)

    # -- the watcher thread ----------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.settings.tick_s)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self._step()
            except Exception:
                log.debug("Opik: breaker watcher step failed", exc_info=True)

    def _step(self) -> None:
        now = time.monotonic()
        with self._lock:
            state = self._state
            if state is BreakerState.CLOSED:
                reason = self._suspicion
                if reason is None:
                    stuck = [r for r in self._in_flight.values() if now - r.started > self.settings.hang_after_s]
                    if stuck:
                        reason = f"a request unanswered after {self.settings.hang_after_s:.0f}s"
                if reason is None:
                    return
                epoch = self._epoch
            elif state is BreakerState.OPEN:
                if now < self._retry_at:
                    return
                self._state = BreakerState.HALF_OPEN
                epoch = self._epoch
            else:
                return
        problem = self._run_probe()
        changed_to: BreakerState | None = None
        with self._lock:
            if self._epoch != epoch:
                return  # something else decided meanwhile
            if state is BreakerState.CLOSED:
                if problem is not None:
                    self._open_locked(f"{reason}; probe: {problem}")
                    changed_to = BreakerState.OPEN
                else:
                    # A blip: the backend answers. Requests watched so far have been judged.
                    self._suspicion = None
                    self._in_flight = {t: r for t, r in self._in_flight.items() if now - r.started <= self.settings.hang_after_s}
            elif problem is None:
                self._close_locked()
                changed_to = BreakerState.CLOSED
            else:
                self._state = BreakerState.OPEN
                self._retry_at = time.monotonic() + self.settings.cool_down_s
                log.debug("Opik still unavailable (%s); next probe in %.0fs", problem, self.settings.cool_down_s)
        if changed_to is not None:
            self._notify(changed_to)

    def _run_probe(self) -> str | None:
        try:
            return self._probe()
        except Exception as exc:  # a probe that breaks is a failed probe, never a dead watcher
            log.debug("Opik: breaker probe raised", exc_info=True)
            return f"probe failed: {type(exc).__name__}: {exc}"


def watch_http_client(client: httpx.Client, breaker: CircuitBreaker) -> Callable[[], None]:
    """Report every request the SDK's HTTP client sends to `breaker`; returns the undo.

    The SDK sends through one shared `httpx.Client` (batches, pings, replays); wrapping its `send`
    on the instance sees each attempt's outcome, on the SDK's own threads, without touching the SDK's
    code paths. Bookkeeping failures are swallowed: the SDK must get its answer or its exception.
    """
    original = client.send

    def send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if breaker.on_watcher_thread():
            return original(request, **kwargs)
        token = safely(breaker.request_started, default=0)
        try:
            response = original(request, **kwargs)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__} on {request.url.path}"
            safely(lambda: breaker.request_failed(token, reason))
            raise
        except BaseException:
            safely(lambda: breaker.request_abandoned(token))
            raise
        safely(lambda: breaker.request_answered(token, request.url.path, response.status_code))
        return response

    client.send = send  # type: ignore[method-assign]

    def undo() -> None:
        if client.__dict__.get("send") is send:
            del client.send

    return undo

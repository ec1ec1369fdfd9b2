"""Tracing is never in the way: a backend that is down, answers 500 or hangs, and an SDK that raises,
leave every turn exactly as it is with tracing off, and shutdown returns within the flush bound.

No timings are asserted here (the benchmark measures them); boundedness is shown by `close()`
returning while the SDK's own flush is still stuck, and pytest-timeout guards against a hang.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.standins.opik import Mode, OpikStandIn
from tests.standins.opik_env import point_opik_at
from trip_planner.config import Settings
from trip_planner.core.messages import Reaction
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.tracing import NullTracer

QUESTIONS = ["Plan 5 days in Lisbon in May for 2 people", "What's the weather like?", "What would the budget be?"]
USER = "slack:T9:C9:U9"


async def converse(runner: TripPlannerRunner) -> list[tuple[str, str]]:
    """Three turns and a thumbs-up; what the user saw."""
    seen = []
    for question in QUESTIONS:
        reply = await runner.ask(USER, question)
        seen.append((reply.status, reply.text))
    await runner.remember_answer(user_id=USER, conversation_id=reply.conversation_id or "", message_ref="last")
    outcome = await runner.react(Reaction(USER, "last", "+1"))
    seen.append(("reaction", outcome))
    return seen


@pytest.fixture
async def untraced_transcript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The same conversation with tracing off, on its own database."""
    point_opik_at(monkeypatch, None)
    runner = TripPlannerRunner(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'baseline.db'}"))
    assert isinstance(runner.tracer, NullTracer)
    await runner.start()
    try:
        return await converse(runner)
    finally:
        await runner.close()


def flush_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "opik-flush" and t.is_alive()]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["down", "500", "hang"])
async def test_a_broken_backend_changes_nothing_for_the_user(
    mode: Mode,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    untraced_transcript: list[tuple[str, str]],
) -> None:
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    with OpikStandIn(mode) as standin:
        point_opik_at(monkeypatch, standin.url)
        runner = TripPlannerRunner(settings)
        assert isinstance(runner.tracer, OpikConversationTracer)
        await runner.start()
        try:
            transcript = await converse(runner)
        finally:
            await runner.close()  # flushes with the 2 s bound
            stuck_flushes = flush_workers()
            runner.tracer.shutdown()  # type: ignore[attr-defined]

        assert transcript == untraced_transcript
        assert all(status in {"answered", "reaction"} for status, _ in transcript)
        if mode == "hang":
            # The SDK is still waiting on the backend, yet close() has returned.
            assert stuck_flushes, "close() waited for the SDK's flush to finish against a hung backend"
            assert standin.recorded("POST")  # it did try to send
        if mode == "500":
            assert standin.recorded("POST", "/api/v1/private/traces/batch")  # sent, and refused


class ExplodingClient:
    """An opik client where every call raises: the tracer must absorb all of it."""

    def __getattr__(self, name: str) -> Any:
        def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"opik {name} exploded")

        return explode


async def test_an_sdk_that_raises_never_reaches_the_conversation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, untraced_transcript: list[tuple[str, str]]
) -> None:
    import opik

    from trip_planner.core.tracing import opik_tracer as opik_tracing
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    # The tracer gets a real client on a dead port (for the ADK integration's own sends), then its
    # own calls go to a client where everything raises.
    point_opik_at(monkeypatch, OpikStandIn("down").url)
    tracer = OpikConversationTracer(project_name="p", app_name="a")
    real_client = tracer.client
    tracer._client = ExplodingClient()  # type: ignore[assignment]

    def broken_trace(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("start_as_current_trace exploded")

    monkeypatch.setattr(opik_tracing.opik, "start_as_current_trace", broken_trace)
    runner = TripPlannerRunner(replace(settings), tracer=tracer)
    await runner.start()
    try:
        transcript = await converse(runner)
        assert transcript == untraced_transcript
        assert await runner.sessions.get_conversation_trace(USER) is None
        await runner.sessions.get_or_create_session(USER)
        assert await runner.sessions.create_query_span(USER, "q", 1) is None
    finally:
        await runner.close()
        tracer.shutdown()
        real_client.end(flush=False)
        opik.api_objects.opik_client.reset_global_client(end_client=False)
    assert opik.opik_context.get_current_trace_data() is None


async def test_a_trace_that_fails_to_close_is_not_left_current(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the SDK fails while closing a turn's trace, the next turn must not nest under it."""
    from opik import context_storage

    from tests.standins.opik import OpikStandIn as StandIn
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    with StandIn("ok") as standin:
        point_opik_at(monkeypatch, standin.url)
        tracer = OpikConversationTracer(project_name="p", app_name="a")
        try:
            real_internal_trace = tracer.client.__internal_api__trace__
            calls = {"n": 0}

            def fail_on_end(**kwargs: Any) -> Any:
                calls["n"] += 1
                if kwargs.get("end_time") is not None:
                    raise RuntimeError("backend client exploded at trace end")
                return real_internal_trace(**kwargs)

            monkeypatch.setattr(tracer.client, "__internal_api__trace__", fail_on_end)
            with tracer.turn(user_id=USER, session_id="s", conversation_id="c", query="q", query_num=1) as turn:
                turn.answer = "a"
            assert calls["n"] >= 1
            assert context_storage.get_trace_data() is None
        finally:
            tracer.shutdown()


async def test_an_exception_in_the_turn_propagates_and_closes_the_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opik import context_storage

    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    with OpikStandIn("ok") as standin:
        point_opik_at(monkeypatch, standin.url)
        tracer = OpikConversationTracer(project_name="p", app_name="a")
        try:
            with (
                pytest.raises(KeyError),
                tracer.turn(user_id=USER, session_id="s", conversation_id="c", query="q", query_num=1),
            ):
                raise KeyError("the turn's own failure")
            assert context_storage.get_trace_data() is None
            tracer.flush(10.0)
            assert await standin.until(lambda: any(t.get("end_time") for t in standin.traces().values()))
            (trace,) = standin.traces().values()
            assert trace["metadata"]["interrupted"] == "KeyError"
            assert trace["thread_id"] == "c"
        finally:
            tracer.shutdown()


# -- the circuit breaker ---------------------------------------------------------------------------
#
# With the backend down or failing, tracing would spend a turn's time on data that cannot be
# delivered; the breaker stops recording until the backend answers again. States are polled with
# bounds, never timed.


def quick_breaker(**overrides: Any) -> Any:
    from trip_planner.core.tracing.opik_tracer import BreakerSettings

    values: dict[str, Any] = {"cool_down_s": 0.2, "probe_timeout_s": 2.0, "tick_s": 0.05, **overrides}
    return BreakerSettings(**values)


def eventually(predicate: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


class ScriptedProbe:
    """A probe whose answer the test sets: None is a healthy backend, a string why it is not."""

    def __init__(self, problem: str | None) -> None:
        self.problem = problem
        self.calls = 0

    def __call__(self) -> str | None:
        self.calls += 1
        return self.problem


def test_breaker_opens_on_failed_deliveries_and_closes_when_the_probe_passes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from trip_planner.core.circuit_breaker import BreakerState, CircuitBreaker

    caplog.set_level(logging.INFO, logger="trip_planner.core")
    probe = ScriptedProbe("HTTP 500")
    changes: list[Any] = []
    breaker = CircuitBreaker(quick_breaker(failures_to_open=3), probe=probe, on_change=changes.append)
    try:
        for _ in range(3):
            breaker.request_answered(breaker.request_started(), "/api/v1/private/traces/batch", 500)
        assert eventually(lambda: breaker.state is not BreakerState.CLOSED)
        assert not breaker.allows()
        # Answers to requests sent before it opened change nothing, and it keeps probing.
        breaker.request_answered(breaker.request_started(), "/api/v1/private/spans/batch", 500)
        assert eventually(lambda: probe.calls >= 2)
        assert breaker.state is not BreakerState.CLOSED
        probe.problem = None  # the backend recovers
        assert eventually(lambda: breaker.state is BreakerState.CLOSED)
        assert breaker.allows()
        assert breaker.opened_count == 1
        assert changes == [BreakerState.OPEN, BreakerState.CLOSED]
    finally:
        breaker.stop()
    mine = [r for r in caplog.records if r.name in ("trip_planner.core.tracing.opik_tracer", "trip_planner.core.tracing.opik_lifecycle", "trip_planner.core.tracing.opik_parts", "trip_planner.core.circuit_breaker")]
    assert [r.levelno for r in mine] == [logging.WARNING, logging.INFO], [r.getMessage() for r in mine]


def test_breaker_confirms_a_transport_error_with_a_probe_before_opening() -> None:
    from trip_planner.core.circuit_breaker import BreakerState, CircuitBreaker

    probe = ScriptedProbe(None)  # the backend answers: the failure was a blip
    breaker = CircuitBreaker(quick_breaker(), probe=probe)
    try:
        breaker.request_failed(breaker.request_started(), "ConnectError on /api/is-alive/ping")
        assert eventually(lambda: probe.calls >= 1)
        assert breaker.state is BreakerState.CLOSED
        probe.problem = "ConnectError"  # now it really is down
        breaker.request_failed(breaker.request_started(), "ConnectError on /api/is-alive/ping")
        assert eventually(lambda: breaker.state is not BreakerState.CLOSED)
    finally:
        breaker.stop()


def test_breaker_treats_a_request_that_never_returns_as_a_failure() -> None:
    from trip_planner.core.circuit_breaker import BreakerState, CircuitBreaker

    probe = ScriptedProbe("ReadTimeout")
    breaker = CircuitBreaker(quick_breaker(hang_after_s=0.1), probe=probe)
    try:
        breaker.request_started()  # never answered, like a hung backend
        assert eventually(lambda: breaker.state is not BreakerState.CLOSED)
    finally:
        breaker.stop()


def test_a_ping_that_passes_is_not_taken_for_a_working_backend() -> None:
    """The 500 stand-in, like a backend whose storage failed, passes the ping: only API answers count."""
    from trip_planner.core.circuit_breaker import BreakerState, CircuitBreaker

    breaker = CircuitBreaker(quick_breaker(failures_to_open=2), probe=ScriptedProbe(None))
    try:
        breaker.request_answered(breaker.request_started(), "/api/v1/private/traces/batch", 500)
        breaker.request_answered(breaker.request_started(), "/api/is-alive/ping", 200)
        breaker.request_answered(breaker.request_started(), "/api/v1/private/traces/batch", 500)
        assert breaker.state is BreakerState.OPEN
    finally:
        breaker.stop()


def recorded_text(standin: OpikStandIn) -> str:
    return json.dumps([r.body for r in standin.recorded()], default=str)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["down", "500"])
async def test_an_open_breaker_records_nothing_and_tracing_resumes_when_the_backend_recovers(
    mode: Mode, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import opik

    from trip_planner.core.tracing.opik_tracer import BreakerState, OpikConversationTracer

    caplog.set_level(logging.INFO, logger="trip_planner.core")
    with OpikStandIn(mode) as standin:
        point_opik_at(monkeypatch, standin.url)
        # After a connection error the SDK parks data until its next ping (every 10 s by default)
        # and replays it then; a short interval keeps the recovery part of this test short.
        monkeypatch.setenv("OPIK_CONNECTION_MONITOR_PING_INTERVAL", "0.5")
        tracer = OpikConversationTracer(
            project_name=settings.opik_project, app_name=settings.app_name, breaker=quick_breaker()
        )
        runner = TripPlannerRunner(settings, tracer=tracer)
        await runner.start()
        try:
            # Traced turns fail to deliver (or the SDK's ping fails): the breaker opens.
            assert (await runner.ask(USER, QUESTIONS[0])).status == "answered"
            assert await standin.until(lambda: tracer.breaker_state is not BreakerState.CLOSED, 30)
            assert not opik.is_tracing_active()  # the ADK integration's own path sends nothing either

            # Open: a whole conversation and its feedback are answered as usual, recorded nowhere.
            away = "discord:4040"
            for question in ["Plan 6 days in Reykjavik in August", "What's the weather like?"]:
                reply = await runner.ask(away, question)
                assert reply.status == "answered"
            away_conversation = reply.conversation_id or ""
            await runner.remember_answer(user_id=away, conversation_id=away_conversation, message_ref="m")
            assert await runner.react(Reaction(away, "m", "+1")) == "satisfied"
            assert tracer.breaker_state is not BreakerState.CLOSED
            assert tracer.breaker_opened_count == 1

            # The backend recovers: the next probe closes the breaker, tracing resumes.
            standin.set_mode("ok")
            assert await standin.until(lambda: tracer.breaker_state is BreakerState.CLOSED, 30)
            back = "slack:T2:C2:U2"
            reply = await runner.ask(back, "Plan 4 days in Tokyo in April")
            assert reply.status == "answered"
            await asyncio.to_thread(tracer.flush, 10.0)

            def tokyo_traced() -> bool:
                traces = [t for t in standin.traces().values() if t.get("thread_id") == reply.conversation_id]
                return any(
                    {"llm", "tool"} <= {s["type"] for s in standin.spans().values() if s.get("trace_id") == t["id"]}
                    and t.get("output") == {"answer": reply.text}
                    for t in traces
                )

            assert await standin.until(tokyo_traced, 30), "no trace with llm and tool spans after recovery"
        finally:
            await runner.close()
            tracer.shutdown()

        # What was queued while the breaker was open would have arrived before the recovered
        # turn's trace: nothing of the open period was ever sent.
        everything = recorded_text(standin)
        assert "Reykjavik" not in everything
        assert away not in everything
        assert away_conversation not in everything  # no record, no trace, no thread score
        assert standin.thread_scores() == []
        # No trace of the ADK integration's own landed outside the project (no "Default Project").
        assert all(t.get("project_name") == settings.opik_project for t in standin.traces().values())

    mine = [r for r in caplog.records if r.name in ("trip_planner.core.tracing.opik_tracer", "trip_planner.core.tracing.opik_lifecycle", "trip_planner.core.tracing.opik_parts", "trip_planner.core.circuit_breaker") and r.levelno >= logging.INFO]
    warnings = [r for r in mine if r.levelno == logging.WARNING]
    resumed = [r for r in mine if "resumed" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once when it opened, never per turn
    assert len(resumed) == 1

"""Tracing is never in the way: a backend that is down, answers 500 or hangs, and an SDK that raises,
leave every turn exactly as it is with tracing off, and shutdown returns within the flush bound.

No timings are asserted here (the benchmark measures them); boundedness is shown by `close()`
returning while the SDK's own flush is still stuck, and pytest-timeout guards against a hang.
"""

from __future__ import annotations

import threading
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
    from trip_planner.core.opik_tracing import OpikConversationTracer

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

    from trip_planner.core import opik_tracing
    from trip_planner.core.opik_tracing import OpikConversationTracer

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
    from trip_planner.core.opik_tracing import OpikConversationTracer

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

    from trip_planner.core.opik_tracing import OpikConversationTracer

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

"""Opik tracing end to end: a real TripPlannerRunner (offline model, real ADK, real opik SDK) talking
to the Opik stand-in over HTTP, and the no-configuration path.

What an operator must find in Opik: one thread per conversation, one `user_query_{n}` trace per query
with its input, answer and metadata, the llm and tool spans of that turn inside it, the conversation
record with its end reason, and the thumbs-up as a `user_satisfaction` score.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.standins.opik import OpikStandIn
from tests.standins.opik_env import point_opik_at
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.messages import Reaction
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.tracing import NullTracer, build_tracer, opik_configured
from trip_planner.models.offline import OfflinePlannerModel

SLACK_USER = "slack:T1:C1:U1"


@pytest.fixture
def standin() -> Iterator[OpikStandIn]:
    with OpikStandIn("ok") as server:
        yield server


@pytest.fixture
async def traced_runner(
    settings: Settings, standin: OpikStandIn, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TripPlannerRunner]:
    point_opik_at(monkeypatch, standin.url)
    runner = TripPlannerRunner(settings)
    await runner.start()
    yield runner
    await runner.close()
    runner.tracer.shutdown()  # type: ignore[attr-defined]


async def delivered(runner: TripPlannerRunner) -> None:
    """Wait (off the event loop) until the SDK's background sender has delivered what was queued."""
    await asyncio.to_thread(runner.tracer.flush, 10.0)


def query_traces(standin: OpikStandIn) -> list[dict[str, Any]]:
    traces = [t for t in standin.traces().values() if str(t.get("name", "")).startswith("user_query_")]
    return sorted(traces, key=lambda t: t["start_time"])


def spans_of(standin: OpikStandIn, trace_id: str) -> list[dict[str, Any]]:
    return [s for s in standin.spans().values() if s.get("trace_id") == trace_id]


# -- configuration ---------------------------------------------------------------------------------


def test_opik_is_configured_only_by_its_own_variables() -> None:
    assert not opik_configured({})
    assert not opik_configured({"OPIK_API_KEY": "  "})
    assert opik_configured({"OPIK_API_KEY": "key"})
    assert opik_configured({"OPIK_URL_OVERRIDE": "http://localhost:5173/api"})
    assert opik_configured({"OPIK_WORKSPACE": "travel-team"})
    assert not opik_configured({"OPIK_API_KEY": "key", "OPIK_TRACK_DISABLE": "true"})


def test_not_configured_means_null_tracer_one_info_line_and_no_opik_import() -> None:
    """Run in a clean interpreter: 'no network call' is proven by opik never being imported."""
    script = """
import logging, sys
records = []
class Keep(logging.Handler):
    def emit(self, record): records.append(record)
logging.basicConfig(level=logging.DEBUG, handlers=[Keep()])
from trip_planner.config import Settings
from trip_planner.core.tracing import NullTracer, build_tracer
tracer = build_tracer(Settings())
assert isinstance(tracer, NullTracer), tracer
assert "opik" not in sys.modules, "opik was imported"
mine = [r for r in records if r.name.startswith("trip_planner")]
assert len(mine) == 1 and mine[0].levelno == logging.INFO, [r.getMessage() for r in mine]
print("ok")
"""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OPIK_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_quiet_defaults_never_override_the_operator() -> None:
    from trip_planner.core.tracing import apply_quiet_defaults

    env = {"OPIK_SENTRY_ENABLE": "true"}
    apply_quiet_defaults(env)
    assert env["OPIK_SENTRY_ENABLE"] == "true"
    assert env["OPIK_ANALYTICS_ENABLE"] == "false"


def test_build_tracer_picks_opik_when_configured(monkeypatch: pytest.MonkeyPatch, standin: OpikStandIn) -> None:
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    point_opik_at(monkeypatch, standin.url)
    tracer = build_tracer(Settings(opik_project="Trips QA"))
    try:
        assert isinstance(tracer, OpikConversationTracer)
        assert tracer.project_name == "Trips QA"
    finally:
        tracer.shutdown()
    point_opik_at(monkeypatch, None)
    assert isinstance(build_tracer(Settings()), NullTracer)


# -- what a conversation looks like in Opik --------------------------------------------------------


async def test_three_turns_and_a_thumbs_up_make_one_thread(
    traced_runner: TripPlannerRunner, standin: OpikStandIn, settings: Settings
) -> None:
    questions = [
        "Plan 5 days in Lisbon in May for 2 people",
        "What's the weather like?",
        "What would the budget be?",
    ]
    replies = [await traced_runner.ask(SLACK_USER, q) for q in questions]
    assert [r.status for r in replies] == ["answered"] * 3
    conversation_id = replies[-1].conversation_id
    assert conversation_id is not None
    await traced_runner.remember_answer(user_id=SLACK_USER, conversation_id=conversation_id, message_ref="ts-3")
    assert await traced_runner.react(Reaction(SLACK_USER, "ts-3", "+1")) == "satisfied"
    await delivered(traced_runner)

    # Bodies arrive gzip-compressed, as the SDK sends them.
    assert any(r.gzipped for r in standin.recorded("POST", "/api/v1/private/traces/batch"))

    traces = query_traces(standin)
    assert [t["name"] for t in traces] == ["user_query_1", "user_query_2", "user_query_3"]
    assert {t["thread_id"] for t in traces} == {conversation_id}
    assert {t["project_name"] for t in traces} == {settings.opik_project}
    for n, (trace, question, reply) in enumerate(zip(traces, questions, replies, strict=True), start=1):
        assert trace["input"] == {"query": question, "query_num": n}
        assert trace["output"] == {"answer": reply.text}
        assert trace["tags"] == ["conversation", "trip_planner", "slack"]
        meta = trace["metadata"]
        assert meta["conversation_id"] == conversation_id
        assert meta["user_id"] == SLACK_USER
        assert meta["platform"] == "slack"
        assert meta["app"] == settings.app_name
        assert meta["session_id"]
        assert trace.get("end_time")

        spans = spans_of(standin, trace["id"])
        kinds = {s["type"] for s in spans}
        assert {"llm", "tool"} <= kinds, f"turn {n} has spans {kinds}"
        assert {s["project_name"] for s in spans} == {settings.opik_project}

    # Nothing landed outside the project or outside a known trace (the ADK integration's own trace).
    assert all(t.get("project_name") == settings.opik_project for t in standin.traces().values())
    known = set(standin.traces())
    assert all(s["trace_id"] in known for s in standin.spans().values())

    thread_scores = standin.thread_scores()
    assert [(s["thread_id"], s["name"], s["value"]) for s in thread_scores] == [
        (conversation_id, "user_satisfaction", 1.0)
    ]
    trace_scores = standin.trace_scores()
    assert [(s["id"], s["name"], s["value"]) for s in trace_scores] == [(traces[-1]["id"], "user_satisfaction", 1.0)]

    records = [t for t in standin.traces().values() if t.get("name") == "conversation"]
    assert len(records) == 1
    record = records[0]
    assert record.get("thread_id") is None  # the thread holds the queries only
    assert record["input"]["conversation_id"] == conversation_id
    assert record["input"]["user_id"] == SLACK_USER
    assert record["output"] == {"reason": "satisfied", "feedback": "satisfied", "total_queries": 3}


async def test_a_thumbs_up_after_a_restart_still_scores_the_last_query(
    settings: Settings, standin: OpikStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_opik_at(monkeypatch, standin.url)
    before = TripPlannerRunner(settings)
    await before.start()
    await before.ask(SLACK_USER, "Plan 5 days in Lisbon in May")
    reply = await before.ask(SLACK_USER, "What would the budget be?")
    assert reply.conversation_id is not None
    await before.remember_answer(user_id=SLACK_USER, conversation_id=reply.conversation_id, message_ref="ts-2")
    await delivered(before)
    await before.close()
    before.tracer.shutdown()  # type: ignore[attr-defined]

    after = TripPlannerRunner(settings)  # a new process: nothing about the traces in memory
    await after.start()
    try:
        assert await after.react(Reaction(SLACK_USER, "ts-2", "+1")) == "satisfied"
        await delivered(after)
    finally:
        await after.close()
        after.tracer.shutdown()  # type: ignore[attr-defined]
    last = query_traces(standin)[-1]
    assert last["name"] == "user_query_2"
    assert [(s["id"], s["value"]) for s in standin.trace_scores()] == [(last["id"], 1.0)]
    assert [(s["thread_id"], s["value"]) for s in standin.thread_scores()] == [(reply.conversation_id, 1.0)]
    # The conversation's record, opened before the restart, is closed after it: one record, not two.
    [record] = [t for t in standin.traces().values() if t.get("name") == "conversation"]
    assert record["input"]["conversation_id"] == reply.conversation_id and record["input"]["session_id"]
    assert record["output"] == {"reason": "satisfied", "feedback": "satisfied", "total_queries": 2}


async def test_ending_without_feedback_records_the_reason_and_no_score(
    traced_runner: TripPlannerRunner, standin: OpikStandIn
) -> None:
    user = "discord:42"
    first = await traced_runner.ask(user, "Plan a weekend in Paris")
    await traced_runner.new_conversation(user)  # ends the first with reason new_session
    await delivered(traced_runner)
    records = {t["input"]["conversation_id"]: t for t in standin.traces().values() if t.get("name") == "conversation"}
    assert records[first.conversation_id]["output"] == {"reason": "new_session", "feedback": None, "total_queries": 1}
    assert len(records) == 2  # the new conversation's record is open
    assert standin.thread_scores() == []
    trace = query_traces(standin)[0]
    assert trace["tags"] == ["conversation", "trip_planner", "discord"]


async def test_thumbs_down_scores_zero_and_keeps_the_conversation(
    traced_runner: TripPlannerRunner, standin: OpikStandIn
) -> None:
    reply = await traced_runner.ask("console:ana", "Plan 3 days in Rome in June")
    await traced_runner.remember_answer(user_id="console:ana", conversation_id=reply.conversation_id or "", message_ref="m1")
    assert await traced_runner.react(Reaction("console:ana", "m1", "-1")) == "unsatisfied"
    await delivered(traced_runner)
    assert [(s["thread_id"], s["value"]) for s in standin.thread_scores()] == [(reply.conversation_id, 0.0)]
    assert [s["value"] for s in standin.trace_scores()] == [0.0]
    assert not [t for t in standin.traces().values() if t.get("name") == "conversation" and t.get("output")]


async def test_seed_api_conversation_trace_and_query_span(
    traced_runner: TripPlannerRunner, standin: OpikStandIn
) -> None:
    user = "console:bo"
    await traced_runner.sessions.get_or_create_session(user)
    conversation_trace = await traced_runner.sessions.get_conversation_trace(user)
    assert conversation_trace is not None
    span = await traced_runner.sessions.create_query_span(user, "hello", 1)
    assert span is not None
    span.end(output={"response": "hi"})
    await delivered(traced_runner)
    assert await standin.until(lambda: any(s.get("name") == "query_1" for s in standin.spans().values()))
    recorded = next(s for s in standin.spans().values() if s.get("name") == "query_1")
    assert recorded["trace_id"] == conversation_trace.id
    assert recorded["input"] == {"query": "hello", "query_num": 1}


# -- concurrency: no cross-user data ---------------------------------------------------------------


class SteppingModel(OfflinePlannerModel):
    """The offline planner, yielding to the event loop before every model call so that two users'
    turns really interleave (the upstream leak needs concurrent invocations on one tracer)."""

    async def generate_content_async(self, llm_request: Any, stream: bool = False) -> Any:  # type: ignore[override]
        await asyncio.sleep(0.01)
        async for response in super().generate_content_async(llm_request, stream):
            yield response


async def test_two_users_at_once_never_share_a_trace(
    settings: Settings, standin: OpikStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_opik_at(monkeypatch, standin.url)
    runner = TripPlannerRunner(settings, agent=build_concierge(SteppingModel()))
    await runner.start()
    try:
        users = {
            "slack:T1:C1:UA": ["Plan 4 days in Tokyo in April", "What's the weather like?", "And the budget?"],
            "discord:777": ["Plan 6 days in Reykjavik in August", "What's the weather like?", "And the budget?"],
        }
        answers: dict[str, list[str]] = {u: [] for u in users}

        async def talk(user: str) -> None:
            for question in users[user]:
                reply = await runner.ask(user, question)
                assert reply.status == "answered"
                answers[user].append(reply.text)

        await asyncio.gather(*(talk(u) for u in users))
        await delivered(runner)
    finally:
        await runner.close()
        runner.tracer.shutdown()  # type: ignore[attr-defined]

    traces = query_traces(standin)
    assert len(traces) == 6
    by_user: dict[str, list[dict[str, Any]]] = {}
    for trace in traces:
        by_user.setdefault(trace["metadata"]["user_id"], []).append(trace)
    assert set(by_user) == set(users)

    # The premise: the two conversations' turns overlapped in time.
    a, b = (by_user[u] for u in users)
    assert any(x["start_time"] < y["end_time"] and y["start_time"] < x["end_time"] for x in a for y in b)

    own_city = {"slack:T1:C1:UA": "Tokyo", "discord:777": "Reykjavik"}
    for user, user_traces in by_user.items():
        other = next(u for u in users if u != user)
        assert len({t["thread_id"] for t in user_traces}) == 1
        assert [t["input"]["query"] for t in user_traces] == users[user]
        assert [t["output"]["answer"] for t in user_traces] == answers[user]
        for trace in user_traces:
            spans = spans_of(standin, trace["id"])
            assert {"llm", "tool"} <= {s["type"] for s in spans}
            blob = json.dumps([trace, spans])
            assert own_city[other] not in blob, f"{other}'s city leaked into {user}'s trace"
            assert other not in blob, f"{other}'s user id leaked into {user}'s trace"
            assert own_city[user] in json.dumps(spans)
            for answer in answers[other]:
                assert json.dumps(answer)[1:-1] not in blob


# -- erasure and import hygiene --------------------------------------------------------------------


async def test_a_persons_threads_are_deleted_in_opik(traced_runner: TripPlannerRunner, standin: OpikStandIn) -> None:
    reply = await traced_runner.ask(SLACK_USER, "Plan 5 days in Lisbon in May for 2 people")
    assert reply.conversation_id is not None
    assert await traced_runner.tracer.delete_threads([reply.conversation_id])
    deletes = standin.recorded("POST", "/api/v1/private/traces/threads/delete")
    assert len(deletes) == 1
    assert deletes[0].body["thread_ids"] == [reply.conversation_id]
    assert deletes[0].body["project_name"] == traced_runner.tracer.project_name  # type: ignore[attr-defined]


async def test_deleting_threads_with_the_backend_down_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

    with OpikStandIn(mode="down") as down:
        point_opik_at(monkeypatch, down.url)
        tracer = build_tracer(Settings())
        assert isinstance(tracer, OpikConversationTracer)
        try:
            assert not await tracer.delete_threads(["conv_gone"])
        finally:
            tracer.shutdown()
    point_opik_at(monkeypatch, None)


def test_importing_the_opik_tracer_changes_neither_the_environment_nor_exit_hooks() -> None:
    """The module has no import-time effects: `build_tracer` sets the quiet defaults and the first
    tracer registers the exit drain."""
    script = """
import atexit, os
import opik
before_env, before_hooks = dict(os.environ), atexit._ncallbacks()
import trip_planner.core.tracing.opik_tracer
assert dict(os.environ) == before_env, "environment changed"
assert atexit._ncallbacks() == before_hooks, "exit hook registered at import"
print("ok")
"""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OPIK_")}
    env.update(OPIK_SENTRY_ENABLE="false", OPIK_ANALYTICS_ENABLE="false")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_forget_me_erases_the_persons_threads_in_opik_too(traced_runner: TripPlannerRunner, standin: OpikStandIn) -> None:
    from trip_planner.core import replies

    reply = await traced_runner.ask(SLACK_USER, "Plan 5 days in Lisbon in May for 2 people")
    assert await traced_runner.forget([SLACK_USER]) == replies.FORGOTTEN
    deletes = standin.recorded("POST", "/api/v1/private/traces/threads/delete")
    assert [d.body["thread_ids"] for d in deletes] == [[reply.conversation_id]]


async def test_the_operators_forget_deletes_the_threads_in_opik_too(traced_runner: TripPlannerRunner, standin: OpikStandIn) -> None:
    """`trip-planner sessions forget` as a real process, with Opik configured (the stand-in)."""
    import os

    reply = await traced_runner.ask(SLACK_USER, "Plan 5 days in Lisbon in May for 2 people")
    env = {**os.environ, "DATABASE_URL": traced_runner.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trip_planner.cli", "sessions", "forget", SLACK_USER, "--yes",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "Deleted their 1 conversation thread(s) in Opik" in err.decode()
    deletes = standin.recorded("POST", "/api/v1/private/traces/threads/delete")
    assert [d.body["thread_ids"] for d in deletes] == [[reply.conversation_id]]


async def test_model_spans_record_this_turns_contents_without_tool_declarations(
    traced_runner: TripPlannerRunner, standin: OpikStandIn
) -> None:
    """What the SDK must encode stays small: a model call's span holds the instruction and this
    turn's contents, not the ~22 KB of tool schemas nor the earlier turns (see `span_request`)."""
    questions = ["Plan 5 days in Lisbon in May for 2 people", "What would the budget be?"]
    for question in questions:
        assert (await traced_runner.ask(SLACK_USER, question)).status == "answered"
    await delivered(traced_runner)
    second = query_traces(standin)[1]
    llm = [s for s in spans_of(standin, second["id"]) if s["type"] == "llm"]
    assert llm
    for span in llm:
        request = span["input"]
        assert not (request.get("config") or {}).get("tools") and not request.get("tools_dict")
        assert request["config"].get("system_instruction")
        text = json.dumps(request["contents"])
        assert "Lisbon in May" not in text  # the first turn is in its own trace
    concierge = [s for s in llm if questions[1] in json.dumps(s["input"]["contents"])]
    assert concierge, "the concierge's call records the person's message"

"""The Gemini path, offline: the real ADK Gemini model and google-genai against a REST stand-in.

What is real here: TripPlannerRunner, the concierge and specialists, ADK's `Gemini`, google-genai and
its retry policy (HttpRetryOptions), HTTP over a socket. Only the far end is the stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from google.adk.models import Gemini
from google.genai import types

from tests.standins.gemini import GeminiStandIn, call, say
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.replies import APOLOGY, TIMEOUT_APOLOGY
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.models import build_model, default_retry_options

FAST_RETRY = types.HttpRetryOptions(attempts=3, initial_delay=0.05, max_delay=0.1, jitter=0.0,
                                    http_status_codes=[429, 500, 503])


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GeminiStandIn]:
    server = GeminiStandIn()
    await server.start()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    yield server
    await server.stop()


@pytest.fixture
def gemini_settings(settings: Settings) -> Settings:
    return replace(settings, model="gemini-2.5-flash", google_api_key="test-key", turn_timeout_s=10.0)


async def _runner(settings: Settings) -> TripPlannerRunner:
    model = build_model(settings, retry_options=FAST_RETRY)
    runner = TripPlannerRunner(settings, agent=build_concierge(model))
    await runner.start()
    return runner


@pytest.fixture
async def gemini_runner(gemini_settings: Settings, standin: GeminiStandIn) -> AsyncIterator[TripPlannerRunner]:
    runner = await _runner(gemini_settings)
    yield runner
    await runner.close()


def test_default_gemini_model_retries_rate_limits_and_server_errors() -> None:
    model = build_model(Settings(model="gemini-2.5-flash", google_api_key="k"))
    assert isinstance(model, Gemini)
    assert model.retry_options == default_retry_options()
    assert model.retry_options.attempts and model.retry_options.attempts >= 3
    assert {429, 500, 503} <= set(model.retry_options.http_status_codes or [])


def test_litellm_model_names_select_adk_litellm() -> None:
    from google.adk.models.lite_llm import LiteLlm

    model = build_model(Settings(model="litellm/ollama_chat/llama3.2"))
    assert isinstance(model, LiteLlm)
    assert model.model == "ollama_chat/llama3.2"


async def test_text_answer_comes_back_with_key_tools_and_state_in_the_request(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(say("Paris in March is cool and lovely."))
    reply = await gemini_runner.ask("gem:1", "Plan a trip to Paris in March")
    assert reply.status == "answered"
    assert reply.text == "Paris in March is cool and lovely."
    assert standin.headers[0].get("x-goog-api-key") == "test-key"
    tools = standin.declared_tools(standin.requests[0])
    assert {"update_trip_plan", "get_typical_weather", "flight_specialist", "hotel_specialist",
            "budget_specialist"} <= tools
    assert "TRIP_STATE_JSON:" in standin.system_text(standin.requests[0])


async def test_function_calls_run_our_tools_and_state_reaches_the_next_turn(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(call("update_trip_plan", {"destinations": ["Lisbon"], "month": "May"}),
                 call("get_typical_weather", {"city": "Lisbon", "month": "May"}))
    reply = await gemini_runner.ask("gem:2", "Lisbon in May please, how warm is it?")
    assert reply.status == "answered"
    assert "get_typical_weather" in reply.text and "avg_high_c" in reply.text
    standin.plan(say("Still Lisbon."))
    await gemini_runner.ask("gem:2", "thanks")
    assert '"destinations": ["Lisbon"]' in standin.system_text(standin.requests[-1])


async def test_specialist_runs_on_gemini_through_agent_tool(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(
        call("flight_specialist", {"destinations": ["Paris"], "origin": "London", "month": "March"}),
        call("estimate_flight_fare", {"origin": "London", "destination": "Paris", "month": "March"}),
        say("About $150 round trip (estimate)."),
        say("Flights from London to Paris: about $150 round trip, an estimate."),
    )
    reply = await gemini_runner.ask("gem:3", "Flights from London to Paris in March?")
    assert reply.text == "Flights from London to Paris: about $150 round trip, an estimate."
    specialist_request = standin.requests[1]
    assert standin.declared_tools(specialist_request) >= {"estimate_flight_fare", "find_airports"}
    fare = [p["functionResponse"] for p in standin.requests[2]["contents"][-1]["parts"] if "functionResponse" in p]
    assert fare and fare[0]["response"]["status"] == "ok" and fare[0]["response"]["from_airport"] == "LHR"
    concierge_sees = [p["functionResponse"] for p in standin.requests[3]["contents"][-1]["parts"] if "functionResponse" in p]
    assert concierge_sees[0]["name"] == "flight_specialist"
    assert "About $150" in str(concierge_sees[0]["response"])


async def test_rate_limits_are_retried_by_google_genai(gemini_runner: TripPlannerRunner, standin: GeminiStandIn) -> None:
    standin.fail(429, times=2)
    standin.plan(say("Made it after the rate limit."))
    reply = await gemini_runner.ask("gem:4", "Hello")
    assert reply.status == "answered"
    assert reply.text == "Made it after the rate limit."
    assert len(standin.requests) == 3


async def test_persistent_server_errors_give_the_apology_and_the_session_stays_usable(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.fail(500, times=FAST_RETRY.attempts or 3)
    reply = await gemini_runner.ask("gem:5", "Plan Rome")
    assert reply.status == "failed"
    assert reply.text == APOLOGY
    assert len(standin.requests) == FAST_RETRY.attempts
    standin.plan(say("Rome it is."))
    again = await gemini_runner.ask("gem:5", "Plan Rome")
    assert again.status == "answered" and again.text == "Rome it is."


async def test_a_hanging_model_gives_the_timeout_apology_and_the_session_stays_usable(
    gemini_settings: Settings, standin: GeminiStandIn
) -> None:
    runner = await _runner(replace(gemini_settings, turn_timeout_s=1.0))
    try:
        standin.hang = True
        reply = await runner.ask("gem:6", "Plan Tokyo")
        assert reply.status == "failed"
        assert reply.text == TIMEOUT_APOLOGY
        standin.hang = False
        standin.plan(say("Tokyo in spring is lovely."))
        again = await runner.ask("gem:6", "Plan Tokyo")
        assert again.status == "answered" and again.text == "Tokyo in spring is lovely."
    finally:
        await runner.close()

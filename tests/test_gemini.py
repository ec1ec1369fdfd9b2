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


# -- the planning tools, called by a real model (issue 12) ---------------------------------------------


def _responses(body: dict[str, object]) -> dict[str, dict[str, object]]:
    """The function responses the model receives in a request, by tool name."""
    last = body["contents"][-1]  # type: ignore[index]
    return {p["functionResponse"]["name"]: p["functionResponse"]["response"]
            for p in last["parts"] if "functionResponse" in p}  # type: ignore[index]


async def test_the_planning_tools_are_declared_and_the_instruction_says_when_to_use_them(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(say("Where would you like to go?"))
    await gemini_runner.ask("gem:plan:0", "Hello")
    request = standin.requests[0]
    assert {"suggest_destinations", "plan_itinerary", "suggest_packing", "compare_trip_options",
            "official_travel_sources"} <= standin.declared_tools(request)
    instruction = standin.system_text(request)
    for tool in ("suggest_destinations", "plan_itinerary", "suggest_packing", "compare_trip_options",
                 "official_travel_sources"):
        assert tool in instruction


async def test_discovery_by_function_call(gemini_runner: TripPlannerRunner, standin: GeminiStandIn) -> None:
    standin.plan(
        call("update_trip_plan", {"month": "March", "days": 7, "travellers": 3, "children": 1, "origin": "Dublin",
                                  "wishes": ["sunny"], "budget_amount": 2500, "budget_currency": "EUR"}),
        call("suggest_destinations", {"month": "March", "wishes": ["sunny"], "origin": "Dublin", "travellers": 3,
                                      "children": 1, "days": 7, "budget_amount": 2500, "budget_currency": "EUR",
                                      "currency": "EUR"}),
        say("Tenerife, Marrakech or Seville: all estimates."),
    )
    reply = await gemini_runner.ask("gem:plan:1", "Somewhere sunny for a week in March, 2 adults and a baby, "
                                                  "flying from Dublin, around 2500 euros")
    assert reply.text == "Tenerife, Marrakech or Seville: all estimates."
    found = _responses(standin.requests[2])["suggest_destinations"]
    names = [s["name"] for s in found["suggestions"]]  # type: ignore[index, union-attr]
    assert found["status"] == "ok" and 3 <= len(names) <= 5 and "Tenerife" in names
    assert all(s["currency"] == "EUR" and s["flights_included"] for s in found["suggestions"])  # type: ignore[union-attr]
    assert "estimate" in str(found["note"])
    assert '"children": 1' in standin.system_text(standin.requests[2])


async def test_itinerary_by_function_call_with_legs(gemini_runner: TripPlannerRunner, standin: GeminiStandIn) -> None:
    standin.plan(
        call("update_trip_plan", {"destinations": ["Rome", "Florence"], "leg_days": [4, 2], "month": "September"}),
        call("plan_itinerary", {"destinations": ["Rome", "Florence"], "days": 6, "leg_days": [4, 2],
                                "month": "September"}),
        say("Day 1: the Colosseum ..."),
    )
    await gemini_runner.ask("gem:plan:2", "Rome for 4 days then 2 days in Florence, a plan for each day please")
    updated = _responses(standin.requests[1])["update_trip_plan"]
    assert updated["trip"]["leg_days"] == [4, 2] and updated["trip"]["days"] == 6  # type: ignore[index]
    plan = _responses(standin.requests[2])["plan_itinerary"]
    days = plan["days"]  # type: ignore[index]
    assert [d["place"] for d in days] == ["Rome"] * 4 + ["Florence"] * 2  # type: ignore[index]
    assert days[4]["plan"].startswith("Travel from Rome to Florence")  # type: ignore[index]
    assert "Colosseum" in days[0]["plan"]  # type: ignore[index]


async def test_packing_by_function_call_uses_climate_normals(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(call("suggest_packing", {"destinations": ["Vienna"], "month": "February", "days": 3}),
                 say("Bring a warm coat."))
    await gemini_runner.ask("gem:plan:3", "What should I pack for Vienna in February?")
    packing = _responses(standin.requests[1])["suggest_packing"]
    weather = packing["weather"][0]  # type: ignore[index]
    assert (weather["high_c"], weather["low_c"], weather["basis"]) == (5, -1, "climate normals")
    assert any("coat" in item for item in packing["clothes"])  # type: ignore[union-attr]


async def test_comparison_by_function_call_changes_nothing(
    gemini_runner: TripPlannerRunner, standin: GeminiStandIn
) -> None:
    standin.plan(call("update_trip_plan", {"destinations": ["Paris"], "month": "March", "days": 5}), say("Paris it is."))
    await gemini_runner.ask("gem:plan:4", "Paris in March for 5 days")
    standin.plan(call("compare_trip_options", {"destinations": ["Paris"], "days": 5, "month": "March",
                                               "alternative_month": "July"}),
                 say("July costs more."))
    await gemini_runner.ask("gem:plan:4", "Would July be cheaper?")
    compared = _responses(standin.requests[-1])["compare_trip_options"]
    months = [o["month"] for o in compared["options"]]  # type: ignore[union-attr, index]
    assert months == ["March", "July"] and compared["difference"] > 0  # type: ignore[operator]
    standin.plan(say("Still March."))
    await gemini_runner.ask("gem:plan:4", "thanks")
    assert '"month": 3' in standin.system_text(standin.requests[-1])


async def test_official_sources_by_function_call(gemini_runner: TripPlannerRunner, standin: GeminiStandIn) -> None:
    standin.plan(call("official_travel_sources", {"country": "Kenya", "topic": "health"}), say("See the WHO page."))
    await gemini_runner.ask("gem:plan:5", "Do I need any vaccinations for Kenya?")
    sources = _responses(standin.requests[1])["official_travel_sources"]
    assert sources["country"] == "Kenya" and sources["topic"] == "health"
    assert any("who.int" in s["url"] for s in sources["sources"])  # type: ignore[union-attr]

"""The concierge: the one agent the traveller talks to, with three specialists as tools.

Why `AgentTool` and not `sub_agents`: with `sub_agents` ADK routes the next user turn to whichever
agent spoke last, so "make it 5 days" after a hotel question would land on the hotel specialist. With
`AgentTool` each specialist answers one brief and the concierge keeps every follow-up.

Why an instruction provider: the trip's facts live in session state, and the model only sees the last
few turns (ContextFilterPlugin), so the instruction carries the current facts on every model call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.agents.readonly_context import ReadonlyContext
from google.adk.models import BaseLlm
from google.adk.tools.agent_tool import AgentTool
from google.genai import types

from trip_planner.agents.planning import PLANNING_TOOLS
from trip_planner.agents.specialists import (
    build_budget_specialist,
    build_flight_specialist,
    build_hotel_specialist,
)
from trip_planner.agents.tools import CONCIERGE_TOOLS, TRIP_KEY, read_preferences, today

INSTRUCTION = """You are a friendly travel concierge. Help the traveller plan a trip: destinations,
origin, dates or month, length of stay, travellers, budget and style. Whenever they state or change a
fact, call update_trip_plan with just that fact (a new place with its own days: the new destinations
list and leg_days; children among the travellers: children; "somewhere warm/ski/beach": wishes and
region). Use get_typical_weather and get_public_holidays for the season, and hand work to the
flight_specialist, hotel_specialist and budget_specialist tools with the trip's facts.
When to use the planning tools:
- No destination named yet, or "where should we go?": suggest_destinations with the month, wishes,
  region, origin, party, days and budget; offer 3-5 with one line each on why and the rough cost.
- "A plan for each day", "itinerary", "what should we do": plan_itinerary with the trip's places,
  days and leg_days. Words about days inside a question never change the trip's length.
- "What should I pack/bring/wear?": suggest_packing with the places, month, days and wishes.
- "X or Y?", "would July be cheaper?", "what about luxury hotels instead?": compare_trip_options, and
  change the trip only when the traveller picks one.
- Visas, entry rules, vaccinations, health or safety: official_travel_sources; never state such a
  rule yourself.
Check unfamiliar place names with lookup_city and offer its suggestions ("I don't know X; did you mean
...?"); for a country, ask which city or suggest some. Greetings and thanks get a short reply (a 👍
reaction on an answer finishes the trip). Every figure is an estimate from a stated model: say so,
never present it as a quote. Ask for what is missing instead of guessing. Answer in concise Markdown."""

STATE_MARKER = "TRIP_STATE_JSON:"
PREFS_MARKER = "PREFERENCES_JSON:"
TODAY_MARKER = "TODAY:"


def trip_context_lines(state: Any, now: dt.date | None = None) -> str:
    """The machine-readable facts block appended to the instruction (read by every model, offline too)."""
    trip = state.get(TRIP_KEY) or {}
    prefs = read_preferences(state)
    return (
        f"{TODAY_MARKER} {(now or today()).isoformat()}\n"
        f"{STATE_MARKER} {json.dumps(trip, sort_keys=True)}\n"
        f"{PREFS_MARKER} {json.dumps(prefs, sort_keys=True)}"
    )


def concierge_instruction(context: ReadonlyContext) -> str:
    """The instruction with the current trip and preferences from state, rebuilt on every model call."""
    return f"{INSTRUCTION}\n\nThe trip so far (from session state):\n{trip_context_lines(context.state)}"


class SpecialistTool(AgentTool):
    """An AgentTool whose function declaration is built once.

    ADK rebuilds it from the specialist's pydantic input schema on every model call, which measured
    as a quarter of a turn's ADK time; the schema never changes while the process runs. Each call
    still gets a fresh object (a model adapter may adjust the one it is given), parsed from the
    stored JSON: a third of the CPU of a deep copy (18 against 60 µs, three tools a model call).
    Parsed from JSON, not validated from a dict: the schema is a plain dict field, which validation
    would hand over shared rather than copied."""

    _declaration_json: str | None = None

    def _get_declaration(self) -> types.FunctionDeclaration:
        if self._declaration_json is None:
            self._declaration_json = super()._get_declaration().model_dump_json(exclude_none=True)
        return types.FunctionDeclaration.model_validate_json(self._declaration_json)


def build_concierge(model: BaseLlm | str) -> LlmAgent:
    """The root agent the runner serves; `model` is the offline planner, a Gemini name or a LiteLlm."""
    specialists = [build_flight_specialist(model), build_hotel_specialist(model), build_budget_specialist(model)]
    return LlmAgent(
        name="concierge",
        model=model,
        description="Travel concierge: gathers the trip's facts and coordinates the specialists.",
        instruction=concierge_instruction,
        tools=[*CONCIERGE_TOOLS, *PLANNING_TOOLS, *(SpecialistTool(agent=s) for s in specialists)],
    )

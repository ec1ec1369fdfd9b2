"""The embedded offline planner: a deterministic ADK model that needs no network and no key.

Why a model and not a hard-coded agent: it plugs into the same `LlmAgent`s that Gemini drives, so the
offline path exercises the real agent graph. Each call it decides, like an LLM would, between calling
tools and answering:

- It knows which agent it serves from the tools the request offers (the concierge offers
  `update_trip_plan`; each specialist offers its own estimators).
- The concierge reads the trip so far from the facts block of its instruction (rebuilt from session
  state on every call), parses only the latest message against it (`facts.py`), records changes with
  `update_trip_plan`, checks unknown places with `lookup_city`, then calls the weather and holiday
  tools and the specialists (AgentTools) in parallel, and finally writes Markdown from their results.
- A specialist reads its JSON brief, calls its estimators, and writes its section.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types
from pydantic import ValidationError

from trip_planner.agents.concierge import PREFS_MARKER, STATE_MARKER, TODAY_MARKER
from trip_planner.agents.specialists import TripBrief
from trip_planner.models.answer import compose_answer
from trip_planner.models.calls import ToolCall, plan_calls
from trip_planner.models import asks
from trip_planner.models.facts import Parsed, parse_message
from trip_planner.models.specialist_text import (
    budget_calls,
    budget_text,
    flight_calls,
    flight_text,
    hotel_calls,
    hotel_text,
)

log = logging.getLogger(__name__)


# -- reading the request -------------------------------------------------------------------------


def latest_user_text(contents: list[types.Content]) -> str:
    """The last thing the user (or, for a specialist, the concierge's brief) wrote."""
    for content in reversed(contents):
        if content.role == "user" and content.parts and any(p.text for p in content.parts):
            return " ".join(p.text for p in content.parts if p.text).strip()
    return ""


def previous_user_text(contents: list[types.Content]) -> str:
    """What the user wrote the turn before the latest one (for a short answer to "which country?")."""
    seen = 0
    for content in reversed(contents):
        if content.role == "user" and content.parts and any(p.text for p in content.parts):
            seen += 1
            if seen == 2:
                return " ".join(p.text for p in content.parts if p.text).strip()
    return ""


def follow_up_official(parsed: Parsed, latest: str, previous: str) -> None:
    """"For Japan" right after "Do I need a visa?" answers which country the official question is about."""
    topic = asks.official_topic(previous[:500]) if previous else None
    if topic and not parsed.official and parsed.country and len(latest.split()) <= 4:
        parsed.official, parsed.official_country = topic, parsed.country
        parsed.country, parsed.discover = None, False


def _since_latest_text(contents: list[types.Content]) -> list[types.Content]:
    for index in range(len(contents) - 1, -1, -1):
        content = contents[index]
        if content.role == "user" and content.parts and any(p.text for p in content.parts):
            return contents[index + 1:]
    return contents


def tool_results(contents: list[types.Content]) -> list[tuple[str, dict[str, Any]]]:
    """Function responses of this turn, in order (one tool may answer several times)."""
    found = []
    for content in _since_latest_text(contents):
        for part in content.parts or []:
            if part.function_response is not None:
                found.append((part.function_response.name or "", dict(part.function_response.response or {})))
    return found


def call_args(contents: list[types.Content], name: str) -> dict[str, Any]:
    """The arguments this turn's calls of `name` carried (merged), e.g. what update_trip_plan changed."""
    merged: dict[str, Any] = {}
    for content in _since_latest_text(contents):
        for part in content.parts or []:
            if part.function_call is not None and part.function_call.name == name:
                merged.update(part.function_call.args or {})
    return merged


def called_tools(contents: list[types.Content]) -> set[str]:
    return {
        part.function_call.name or ""
        for content in _since_latest_text(contents)
        for part in content.parts or []
        if part.function_call is not None
    }


def instruction_text(llm_request: LlmRequest) -> str:
    instruction = llm_request.config.system_instruction if llm_request.config else None
    if instruction is None:
        return ""
    if isinstance(instruction, str):
        return instruction
    if isinstance(instruction, types.Content):
        return "\n".join(p.text or "" for p in instruction.parts or [])
    return str(instruction)


def state_from_instruction(text: str) -> tuple[dict[str, Any], dict[str, Any], dt.date]:
    """(trip, preferences, today) from the facts block the concierge's instruction carries."""
    trip: dict[str, Any] = {}
    prefs: dict[str, Any] = {}
    today = dt.date.today()
    for line in text.splitlines():
        if line.startswith(STATE_MARKER):
            trip = json.loads(line[len(STATE_MARKER):])
        elif line.startswith(PREFS_MARKER):
            prefs = json.loads(line[len(PREFS_MARKER):])
        elif line.startswith(TODAY_MARKER):
            today = dt.date.fromisoformat(line[len(TODAY_MARKER):].strip())
    return trip, prefs, today

# -- the model -----------------------------------------------------------------------------------


class OfflinePlannerModel(BaseLlm):
    """Deterministic planner; see the module docstring for how it decides."""

    model: str = "offline-planner"

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"offline-planner"]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        # The parsing and composing are CPU work: in a worker thread they never stall the event loop
        # (other people's turns, Slack's 3-second acknowledgement), and the turn deadline stays able to
        # answer with the apology while a long message is still being read.
        yield await asyncio.to_thread(self._respond, llm_request)

    def _respond(self, llm_request: LlmRequest) -> LlmResponse:
        contents = list(llm_request.contents or [])
        tools = set(llm_request.tools_dict or {})
        latest = latest_user_text(contents)
        if "update_trip_plan" in tools:
            return self._concierge(llm_request, contents, latest)
        if "estimate_flight_fare" in tools:
            return self._specialist(contents, latest, flight_calls, flight_text)
        if "estimate_hotel_cost" in tools:
            return self._specialist(contents, latest, hotel_calls, hotel_text)
        if "estimate_trip_budget" in tools:
            return self._specialist(contents, latest, budget_calls, budget_text)
        return _text("I'm the trip planner's offline model: tell me where you'd like to go.", latest)

    # -- the concierge ---------------------------------------------------------------------------

    def _concierge(self, llm_request: LlmRequest, contents: list[types.Content], latest: str) -> LlmResponse:
        trip, prefs, today = state_from_instruction(instruction_text(llm_request))
        parsed = parse_message(latest, trip, prefs, today)
        follow_up_official(parsed, latest, previous_user_text(contents))
        called = called_tools(contents)
        if parsed.changes and "update_trip_plan" not in called:
            return _calls([("update_trip_plan", parsed.changes)], latest)
        if parsed.unknown_places and "lookup_city" not in called:
            return _calls([("lookup_city", {"name": name}) for name in parsed.unknown_places], latest)
        if not called - {"update_trip_plan", "lookup_city"}:
            calls = plan_calls(parsed, trip, prefs, latest, set(call_args(contents, "update_trip_plan")))
            if calls:
                return _calls(calls, latest)
        changed = set(call_args(contents, "update_trip_plan"))
        return _text(compose_answer(parsed, trip, prefs, tool_results(contents), changed), latest)

    # -- the specialists -------------------------------------------------------------------------

    def _specialist(self, contents: list[types.Content], latest: str, make_calls: Any, make_text: Any) -> LlmResponse:
        try:
            brief = TripBrief.model_validate_json(latest)
        except ValidationError:
            log.warning("Specialist got a brief that is not a TripBrief (%d characters)", len(latest))
            return _text("I need the trip's destinations to work on this.", latest)
        results = tool_results(contents)
        if not results:
            calls = make_calls(brief)
            if calls:
                return _calls(calls, latest)
        return _text(make_text(brief, [r for _n, r in results]), latest)

# -- responses -----------------------------------------------------------------------------------


def _usage(prompt: str, output: str) -> types.GenerateContentResponseUsageMetadata:
    # Word counts stand in for tokens so usage metrics and traces have numbers to show.
    p, o = len(prompt.split()), len(output.split())
    return types.GenerateContentResponseUsageMetadata(prompt_token_count=p, candidates_token_count=o, total_token_count=p + o)


def _calls(calls: list[ToolCall], prompt: str) -> LlmResponse:
    parts = [types.Part(function_call=types.FunctionCall(name=name, args=args)) for name, args in calls]
    return LlmResponse(content=types.Content(role="model", parts=parts),
                       usage_metadata=_usage(prompt, " ".join(n for n, _ in calls)))


def _text(text: str, prompt: str) -> LlmResponse:
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]), usage_metadata=_usage(prompt, text))

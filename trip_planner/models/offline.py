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

from trip_planner.agents import estimates as est
from trip_planner.agents.concierge import PREFS_MARKER, STATE_MARKER, TODAY_MARKER
from trip_planner.agents.specialists import (
    BUDGET_SPECIALIST,
    FLIGHT_SPECIALIST,
    HOTEL_SPECIALIST,
    TripBrief,
)
from trip_planner.agents.tools import DEFAULT_DAYS, nights_for, split_days
from trip_planner.models.facts import Parsed, parse_message

log = logging.getLogger(__name__)

ESTIMATE_FOOTER = (
    "_All prices and temperatures here are **estimates** from stated models (distance, city cost level, "
    "latitude and season), not quotes, bookings or forecasts._"
)
ToolCall = tuple[str, dict[str, Any]]


# -- reading the request -------------------------------------------------------------------------


def latest_user_text(contents: list[types.Content]) -> str:
    """The last thing the user (or, for a specialist, the concierge's brief) wrote."""
    for content in reversed(contents):
        if content.role == "user" and content.parts and any(p.text for p in content.parts):
            return " ".join(p.text for p in content.parts if p.text).strip()
    return ""


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
            return self._specialist(contents, latest, _flight_calls, _flight_text)
        if "estimate_hotel_cost" in tools:
            return self._specialist(contents, latest, _hotel_calls, _hotel_text)
        if "estimate_trip_budget" in tools:
            return self._specialist(contents, latest, _budget_calls, _budget_text)
        return _text("I'm the trip planner's offline model: tell me where you'd like to go.", latest)

    # -- the concierge ---------------------------------------------------------------------------

    def _concierge(self, llm_request: LlmRequest, contents: list[types.Content], latest: str) -> LlmResponse:
        trip, prefs, today = state_from_instruction(instruction_text(llm_request))
        parsed = parse_message(latest, trip, prefs, today)
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


# -- what the concierge asks for -------------------------------------------------------------------


def effective(trip: dict[str, Any], prefs: dict[str, Any]) -> dict[str, Any]:
    """The trip with preferences and defaults filled in, as the specialists get it."""
    budget = trip.get("budget") or {}
    return {
        "destinations": list(trip.get("destinations") or []),
        "origin": trip.get("origin") or prefs.get("home_airport"),
        "month": trip.get("month"),
        "year": trip.get("year"),
        "days": int(trip.get("days") or DEFAULT_DAYS),
        "travellers": int(trip.get("travellers") or 1),
        "hotel_class": trip.get("hotel_class") or prefs.get("travel_style") or "mid-range",
        "pace": trip.get("pace") or "moderate",
        "currency": prefs.get("currency") or budget.get("currency") or "USD",
        "budget_amount": budget.get("amount"),
        "budget_currency": budget.get("currency"),
    }


def brief_for(trip: dict[str, Any], prefs: dict[str, Any], question: str, cities: list[str] | None = None) -> dict[str, Any]:
    eff = effective(trip, prefs)
    brief = TripBrief(
        destinations=cities or eff["destinations"], origin=eff["origin"],
        month=est.MONTHS[eff["month"] - 1] if eff["month"] else None, year=eff["year"], days=eff["days"],
        travellers=eff["travellers"], hotel_class=eff["hotel_class"], pace=eff["pace"], currency=eff["currency"],
        budget_amount=eff["budget_amount"], budget_currency=eff["budget_currency"], question=question,
    )
    return brief.model_dump(exclude_none=True)


def plan_calls(parsed: Parsed, trip: dict[str, Any], prefs: dict[str, Any], latest: str,
               changed: set[str] | None = None) -> list[ToolCall]:
    """Which tools and specialists this turn needs, all independent, so they run in parallel.

    A question gets what it asks about; a new or changed destination (or no question at all) gets the
    whole overview, since everything about the trip changed.
    """
    cities = parsed.focus_cities or list(trip.get("destinations") or [])
    only_unknown = bool(parsed.unknown_places) and not (parsed.intents - {"plan"})
    if not cities or parsed.ambiguous_months or parsed.thanks or only_unknown:
        return []
    month = parsed.focus_month or trip.get("month")
    asked = parsed.intents - {"plan"}
    overview = not asked or "plan" in parsed.intents or "destinations" in (changed or set())
    eff = effective(trip, prefs)
    calls: list[ToolCall] = []
    if month and (overview or "weather" in asked):
        calls += [("get_typical_weather", {"city": c, "month": est.MONTHS[month - 1]}) for c in cities]
    if month and (overview or "holidays" in asked):
        for city in cities:
            args: dict[str, Any] = {"city": city}
            if trip.get("start_date") and trip.get("end_date") and not parsed.focus_month:
                args.update(start_date=trip["start_date"], end_date=trip["end_date"])
            else:
                args.update(month=est.MONTHS[month - 1], year=trip.get("year") if not parsed.focus_month else None)
                args = {k: v for k, v in args.items() if v is not None}
            calls.append(("get_public_holidays", args))
    brief = brief_for(trip, prefs, latest, parsed.focus_cities or None)
    if "flights" in asked or (overview and eff["origin"]):
        calls.append((FLIGHT_SPECIALIST, brief))
    if "hotels" in asked or overview:
        calls.append((HOTEL_SPECIALIST, brief))
    if "budget" in asked or overview:
        calls.append((BUDGET_SPECIALIST, brief))
    return calls


# -- the concierge's answer ------------------------------------------------------------------------


def _join(names: list[str], word: str = "or") -> str:
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + f" {word} " + bold[-1]


def _when(trip: dict[str, Any]) -> str:
    if trip.get("start_date"):
        first = dt.date.fromisoformat(trip["start_date"])
        if trip.get("end_date"):
            last = dt.date.fromisoformat(trip["end_date"])
            return f"{first:%-d %B} – {last:%-d %B %Y}"
        return f"from {first:%-d %B %Y}"
    if trip.get("month"):
        return f"{est.MONTHS[trip['month'] - 1]} {trip.get('year') or ''}".strip()
    return ""


def header(trip: dict[str, Any]) -> str:
    bits = [" → ".join(trip.get("destinations") or [])]
    if _when(trip):
        bits.append(_when(trip))
    if trip.get("days"):
        bits.append(f"{trip['days']} days")
    if trip.get("travellers"):
        bits.append(f"{trip['travellers']} traveller{'s' if trip['travellers'] > 1 else ''}")
    if trip.get("origin"):
        bits.append(f"from {trip['origin']}")
    return "### Your trip: " + " · ".join(bits)


def _unknown_lines(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for name, result in results:
        if name == "lookup_city" and result.get("status") == "unknown":
            sugg = result.get("suggestions") or []
            lines.append(f"I don't know **{result['name']}**; did you mean {_join(sugg)}?" if sugg
                         else f"I don't know **{result['name']}**. Which city do you mean?")
        elif name == "lookup_city" and result.get("status") == "country":
            lines.append(f"**{result['country']}** is a country: which city would you like? For example "
                         f"{_join(result.get('suggestions') or [])}.")
        elif name == "update_trip_plan":
            for unknown in result.get("unknown_places") or []:
                sugg = unknown.get("suggestions") or []
                lines.append(f"I don't know **{unknown['name']}**" + (f"; did you mean {_join(sugg)}?" if sugg else "."))
    return lines


def _weather_line(w: dict[str, Any]) -> str:
    return (f"**Weather in {w['city']} in {w['month']}** (typical, estimated from latitude and season, not a "
            f"forecast): {w['description']}, around {w['avg_high_c']}°C by day and {w['avg_low_c']}°C at night; "
            f"{w['rain']}.")


def _holiday_line(h: dict[str, Any]) -> str:
    if h.get("status") != "ok":
        return f"**Public holidays:** {h.get('error', 'not available')}"
    first, last = dt.date.fromisoformat(h["from"]), dt.date.fromisoformat(h["to"])
    span = f"{first:%B %Y}" if first.day == 1 and (last + dt.timedelta(days=1)).day == 1 and first.month == last.month \
        else f"{first:%-d %b} – {last:%-d %b %Y}"
    if not h["holidays"]:
        return f"**Public holidays in {h['country']} ({span}):** none, so shops and sights keep normal hours."
    days = "; ".join(f"{dt.date.fromisoformat(x['date']):%a %-d %b}: {x['name']}" for x in h["holidays"])
    return f"**Public holidays in {h['country']} ({span}):** {days}. Expect closures and busier trains."


def _missing(trip: dict[str, Any], prefs: dict[str, Any], parsed: Parsed) -> str | None:
    asks = []
    if not trip.get("month") and not trip.get("start_date"):
        asks.append("when you'd like to go (a month or dates)")
    if not trip.get("days"):
        asks.append(f"how many days (I've assumed {DEFAULT_DAYS})")
    if not trip.get("origin") and not prefs.get("home_airport"):
        asks.append("where you'll fly from")
    if not trip.get("travellers"):
        asks.append("how many travellers (I've assumed 1)")
    if not trip.get("budget"):
        asks.append("your budget")
    if not asks:
        return None
    asks = asks[:3]
    listed = asks[0] if len(asks) == 1 else ", ".join(asks[:-1]) + " and " + asks[-1]
    return f"To sharpen the plan, tell me {listed}."


def compose_answer(parsed: Parsed, trip: dict[str, Any], prefs: dict[str, Any],
                   results: list[tuple[str, dict[str, Any]]], changed: set[str] | None = None) -> str:
    """Markdown from this turn's tool results and the trip in state."""
    lines: list[str] = []
    update = next((r for n, r in results if n == "update_trip_plan"), None)
    if update and update.get("status") == "ok":
        trip = update["trip"]
        prefs = update.get("preferences") or prefs
    lines.extend(_unknown_lines(results))
    if update:
        lines.extend(f"_Note: {note}_" for note in update.get("notes") or [])
    remembered = None
    changed = changed or set()
    if update and update.get("preferences") and changed & {"home_airport", "preferred_currency", "travel_style"}:
        saved = ", ".join(f"{k.replace('_', ' ')} **{v}**" for k, v in update["preferences"].items())
        remembered = f"I'll remember your {saved} for future trips too."
    if not trip.get("destinations"):
        if remembered:
            lines.append(remembered)
        if not lines:
            lines.append("Hello! I'm your trip planner." if parsed.greeting else "I'd love to help you plan a trip.")
        noted = []
        if _when(trip):
            noted.append(f"when: {_when(trip)}")
        if trip.get("days"):
            noted.append(f"{trip['days']} days")
        if trip.get("travellers"):
            noted.append(f"{trip['travellers']} travellers")
        if noted:
            lines.append("Noted — " + ", ".join(noted) + ".")
        lines.append("**Where would you like to go?** Tell me a city (or several), and when you'd like to travel.")
        return "\n\n".join(lines)
    lines.insert(0, header(trip))
    if remembered:
        lines.append(remembered)
    if parsed.ambiguous_months:
        lines.append(f"Which month would you prefer: {_join(parsed.ambiguous_months)}? Weather, prices and "
                     "holidays differ, so I'll plan once you choose.")
        return "\n\n".join(lines)
    asked_weather = "weather" in parsed.intents and not (parsed.focus_month or trip.get("month"))
    if asked_weather:
        lines.append(f"Which month are you thinking of for **{' and '.join(trip['destinations'])}**? "
                     "I'll tell you the typical weather then.")
    figures = False
    for name, result in results:
        if name == "get_typical_weather" and result.get("status") == "ok":
            lines.append(_weather_line(result))
            figures = True
    seen_countries: set[str] = set()
    for name, result in results:
        if name == "get_public_holidays" and result.get("country") not in seen_countries:
            seen_countries.add(result.get("country", ""))
            lines.append(_holiday_line(result))
    for specialist in (FLIGHT_SPECIALIST, HOTEL_SPECIALIST, BUDGET_SPECIALIST):
        for name, result in results:
            if name == specialist and result.get("result"):
                lines.append(str(result["result"]))
                figures = True
    if len(lines) == 1 and not results:
        lines.append(("You're welcome! " if parsed.thanks else "") + "Your trip is saved. Ask me about the weather, "
                     "holidays, flights, hotels or the budget, or change any detail.")
    missing = _missing(trip, prefs, parsed)
    if missing:
        lines.append(missing)
    if figures:
        lines.append(ESTIMATE_FOOTER)
    return "\n\n".join(lines)


# -- specialists' calls and texts -----------------------------------------------------------------


def _legs(brief: TripBrief) -> list[tuple[str, str, bool]]:
    if not brief.origin:
        return []
    if len(brief.destinations) == 1:
        return [(brief.origin, brief.destinations[0], False)]
    stops = [brief.origin, *brief.destinations, brief.origin]
    return [(a, b, True) for a, b in zip(stops, stops[1:])]


def _flight_calls(brief: TripBrief) -> list[ToolCall]:
    return [("estimate_flight_fare", {"origin": a, "destination": b, "month": brief.month, "travellers": brief.travellers,
                                      "currency": brief.currency, "one_way": one_way})
            for a, b, one_way in _legs(brief)]


def _flight_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
    if not brief.origin:
        return ("**Flights:** tell me where you'll fly from (a city, or an airport code such as LHR) and I'll "
                "estimate the fares.")
    lines = ["**Flights** (economy fares estimated from distance and season; estimates, not quotes):"]
    total = 0
    for r in results:
        if r.get("status") != "ok":
            lines.append(f"- {r.get('error', 'no estimate')}")
            continue
        total += r["total"]
        who = f", {est.money(r['total'], r['currency'])} for {r['travellers']} travellers" if r["travellers"] > 1 else ""
        stops = "likely nonstop" if r["likely_stops"] == 0 else "likely one stop"
        lines.append(f"- {r['from']} ({r['from_airport']}) → {r['to']} ({r['to_airport']}), {r['trip_type']}: about "
                     f"{est.money(r['per_person'], r['currency'])} per person{who} · {r['distance_km']:,} km, "
                     f"~{r['flight_hours']} h, {stops}")
    if len(results) > 1:
        lines.append(f"- All legs together: about {est.money(total, brief.currency)} (estimate)")
    return "\n".join(lines)


def _hotel_calls(brief: TripBrief) -> list[ToolCall]:
    nights = nights_for(brief.days)
    split = split_days(nights, len(brief.destinations)) if nights >= len(brief.destinations) else [1] * len(brief.destinations)
    return [("estimate_hotel_cost", {"city": c, "nights": n, "month": brief.month, "travellers": brief.travellers,
                                     "hotel_class": brief.hotel_class, "currency": brief.currency})
            for c, n in zip(brief.destinations, split)]


def _hotel_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
    lines = [f"**Hotels** ({brief.hotel_class}; nightly rates estimated from the city's cost level and season; "
             "estimates, not quotes):"]
    for r in results:
        if r.get("status") != "ok":
            lines.append(f"- {r.get('error', 'no estimate')}")
            continue
        rooms = f" × {r['rooms']} rooms" if r["rooms"] > 1 else ""
        lines.append(f"- {r['city']}: about {est.money(r['nightly_per_room'], r['currency'])} a night{rooms}, "
                     f"{est.money(r['total'], r['currency'])} for {r['nights']} night{'s' if r['nights'] > 1 else ''}")
    return "\n".join(lines)


def _budget_calls(brief: TripBrief) -> list[ToolCall]:
    args = {"destinations": brief.destinations, "days": brief.days, "travellers": brief.travellers,
            "month": brief.month, "origin": brief.origin, "hotel_class": brief.hotel_class, "pace": brief.pace,
            "currency": brief.currency, "budget_amount": brief.budget_amount, "budget_currency": brief.budget_currency}
    return [("estimate_trip_budget", {k: v for k, v in args.items() if v is not None})]


def _budget_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
    r = results[0] if results else {}
    if r.get("status") != "ok":
        return f"**Budget:** {r.get('error', 'no estimate')}"
    cur = r["currency"]
    people = f"{r['travellers']} traveller{'s' if r['travellers'] > 1 else ''}"
    lines = [f"**Budget** (estimate for {r['days']} days, {people}, {r['hotel_class']} hotels; not a quote):"]
    b = r["breakdown"]
    lines.append(f"- Flights: {est.money(b['flights'], cur)}" if b["flights"] is not None
                 else "- Flights: not included yet (tell me where you'll fly from)")
    lines.append(f"- Hotels: {est.money(b['hotels'], cur)}")
    lines.append(f"- Food, local transport and sights: {est.money(b['food_transport_sights'], cur)}")
    lines.append(f"- **Total: about {est.money(r['total'], cur)}** (about {est.money(r['per_day'], cur)} a day)")
    if "budget" in r:
        given = r["budget_as_given"]
        stated = est.money(given["amount"], given["currency"])
        if given["currency"] != cur:
            stated += f" (about {est.money(r['budget'], cur)})"
        if r["budget_covers"]:
            lines.append(f"- Your budget of **{stated}** covers this, leaving about "
                         f"{est.money(r['difference'], cur)} for extras.")
        elif r["affordable_days"] >= 1:
            lines.append(f"- Your budget of **{stated}** is about {est.money(-r['difference'], cur)} short: it covers "
                         f"about {r['affordable_days']} days at this level, or try cheaper hotels.")
        else:
            lines.append(f"- Your budget of **{stated}** is about {est.money(-r['difference'], cur)} short, and the "
                         "flights alone take most of it: consider a closer destination, fewer travellers or a "
                         "bigger budget.")
    return "\n".join(lines)


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

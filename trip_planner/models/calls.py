"""Which tools and specialists the concierge calls for a message (offline model).

Why apart from the answer: deciding the calls needs only the parsed message and the trip; the
answer (`answer.py`) is written later from whatever the calls returned.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.specialists import (
    BUDGET_SPECIALIST,
    FLIGHT_SPECIALIST,
    HOTEL_SPECIALIST,
    TripBrief,
)
from trip_planner.agents.places import resolve_place
from trip_planner.agents.tools import DEFAULT_DAYS
from trip_planner.models.facts import Parsed

ToolCall = tuple[str, dict[str, Any]]


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
        "leg_days": list(trip.get("leg_days") or []) or None,
        "children": int(trip.get("children") or 0),
        "wishes": list(trip.get("wishes") or []),
    }


def brief_for(trip: dict[str, Any], prefs: dict[str, Any], question: str, cities: list[str] | None = None) -> dict[str, Any]:
    eff = effective(trip, prefs)
    brief = TripBrief(
        destinations=cities or eff["destinations"], origin=eff["origin"],
        month=est.MONTHS[eff["month"] - 1] if eff["month"] else None, year=eff["year"], days=eff["days"],
        travellers=eff["travellers"], hotel_class=eff["hotel_class"], pace=eff["pace"], currency=eff["currency"],
        budget_amount=eff["budget_amount"], budget_currency=eff["budget_currency"], question=question,
        leg_days=eff["leg_days"] if not cities else None, children=eff["children"],
    )
    return brief.model_dump(exclude_none=True)


def plan_calls(parsed: Parsed, trip: dict[str, Any], prefs: dict[str, Any], latest: str,
               changed: set[str] | None = None) -> list[ToolCall]:
    """Which tools and specialists this turn needs, all independent, so they run in parallel.

    A question gets what it asks about; a new or changed destination (or no question at all) gets the
    whole overview, since everything about the trip changed.
    """
    eff = effective(trip, prefs)
    if parsed.small_talk or parsed.thanks:
        return []
    if parsed.official:
        country = parsed.official_country or _country_of(eff["destinations"])
        return [("official_travel_sources", {"country": country, "topic": parsed.official})] if country else []
    if parsed.compare:
        return [("compare_trip_options", compare_args(parsed, eff))]
    if parsed.discover and not eff["destinations"]:
        return [("suggest_destinations", discovery_args(parsed, trip, eff))]
    cities = parsed.focus_cities or list(trip.get("destinations") or [])
    only_unknown = bool(parsed.unknown_places) and not (parsed.intents - {"plan"})
    if not cities or parsed.ambiguous_months or only_unknown:
        return []
    month = parsed.focus_month or trip.get("month")
    asked = parsed.intents - {"plan"}
    overview = not asked or "plan" in parsed.intents or "destinations" in (changed or set())
    calls: list[ToolCall] = []
    if "itinerary" in asked:
        plan = {"destinations": cities, "days": eff["days"], "leg_days": eff["leg_days"] if not parsed.focus_cities else None,
                "pace": eff["pace"], "month": est.MONTHS[month - 1] if month else None, "children": eff["children"]}
        calls.append(("plan_itinerary", {k: v for k, v in plan.items() if v is not None}))
    if "packing" in asked and month:
        calls.append(("suggest_packing", {"destinations": cities, "month": est.MONTHS[month - 1], "days": eff["days"],
                                          "wishes": eff["wishes"], "children": eff["children"]}))
    if asked <= {"itinerary", "packing", "weather"} and asked & {"itinerary", "packing"} and not overview:
        return calls
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


def _country_of(destinations: list[str]) -> str | None:
    place = resolve_place(destinations[0]) if destinations else None
    return place.country if place else None


def discovery_args(parsed: Parsed, trip: dict[str, Any], eff: dict[str, Any]) -> dict[str, Any]:
    """suggest_destinations' arguments from everything the traveller said so far."""
    args: dict[str, Any] = {
        "month": est.MONTHS[eff["month"] - 1] if eff["month"] else None, "wishes": eff["wishes"] or None,
        "region": trip.get("region"), "country": parsed.country, "origin": eff["origin"],
        "travellers": eff["travellers"], "children": eff["children"] or None,
        "days": int(trip.get("days") or 7), "budget_amount": eff["budget_amount"],
        "budget_currency": eff["budget_currency"], "currency": eff["currency"],
    }
    return {k: v for k, v in args.items() if v is not None}


def compare_args(parsed: Parsed, eff: dict[str, Any]) -> dict[str, Any]:
    """compare_trip_options' arguments: the trip as option A, the alternative the message names as B."""
    month = est.MONTHS[eff["month"] - 1] if eff["month"] else None
    args: dict[str, Any] = {"destinations": eff["destinations"], "days": eff["days"], "travellers": eff["travellers"],
                            "month": month, "origin": eff["origin"], "hotel_class": eff["hotel_class"],
                            "currency": eff["currency"], "leg_days": eff["leg_days"], "children": eff["children"] or None}
    if "destinations" in parsed.compare:
        first, second = parsed.compare["destinations"]
        args.update(destinations=first, alternative_destinations=second, leg_days=None)
    if "months" in parsed.compare:
        args.update(month=parsed.compare["months"][0], alternative_month=parsed.compare["months"][1])
    if "hotel_classes" in parsed.compare:
        args.update(hotel_class=parsed.compare["hotel_classes"][0], alternative_hotel_class=parsed.compare["hotel_classes"][1])
    return {k: v for k, v in args.items() if v is not None}

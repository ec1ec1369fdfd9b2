"""A day-by-day plan for the trip's length and legs.

Why these rules: the first and last days go to travel, so they stay light; a multi-city trip gives
each city its own days (as the traveller set them, or shared out evenly) and its first day starts
with the journey; the pace sets how many sights fill a full day. The sights come from the curated
table's highlights (well-known places, see `data/destinations.json`); elsewhere a sensible pattern
(old town, main museum, market, a viewpoint, a day trip) that the traveller fills in.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.costs import split
from trip_planner.agents.places import resolve_place

_GENERIC = ("the old town or centre on foot", "the main museum or gallery", "a food market and a local lunch",
            "a viewpoint, park or waterfront", "a neighbourhood off the tourist track", "a half-day trip nearby")
_PER_DAY = {"relaxed": 1, "moderate": 2, "packed": 3}


def _legs(destinations: list[str], days: int, leg_days: list[int] | None) -> list[tuple[str, int]]:
    if leg_days and len(leg_days) == len(destinations) and all(int(n) >= 1 for n in leg_days):
        return [(c, int(n)) for c, n in zip(destinations, leg_days)]
    return list(zip(destinations, split(days, len(destinations))))


def _whole_day(sight: str) -> bool:
    return sight.startswith(("a day trip", "a day in", "a day at", "a day on", "an overnight"))


def _pick(sights: list[str], take: int, *, light: bool) -> list[str]:
    """The next sights for a day: a day trip fills a full day alone and never a travel day."""
    if light:
        for index, sight in enumerate(sights):
            if not _whole_day(sight):
                return [sights.pop(index)]
        return []
    if sights and _whole_day(sights[0]):
        return [sights.pop(0)]
    todays: list[str] = []
    while sights and len(todays) < take and not _whole_day(sights[0]):
        todays.append(sights.pop(0))
    return todays


def plan_itinerary(
    destinations: list[str], days: int, leg_days: list[int] | None = None, pace: str = "moderate",
    month: str | None = None, children: int = 0,
) -> dict[str, Any]:
    """Sketch a day-by-day itinerary: arrival and departure days light, each city its own days.

    Args:
        destinations: The trip's places in order (cities, islands or regions).
        days: Length of the whole trip in days.
        leg_days: Days in each place, in the order of destinations (e.g. [4, 2]); shared evenly if omitted.
        pace: relaxed, moderate or packed (how many sights fill a full day).
        month: Travel month, to flag wet months (plan indoor sights for rainy days).
        children: Number of children travelling (adds rest time).

    Returns:
        The legs and one entry per day (day number, place, what to do), with the source of the sights.
    """
    if not destinations:
        return {"status": "error", "error": "Tell me at least one destination."}
    places = []
    for name in destinations:
        place = resolve_place(name)
        if place is None:
            return {"status": "error", "error": f"I don't know the place {name!r}."}
        places.append(place)
    legs = _legs([p.name for p in places], max(1, int(days)), leg_days)
    per_day = _PER_DAY.get(pace, 2) - (1 if children and pace != "relaxed" else 0)
    month_num = est.month_number(month)
    plan: list[dict[str, Any]] = []
    total = sum(n for _c, n in legs)
    day = 0
    for index, ((city, count), place) in enumerate(zip(legs, places)):
        sights = list(place.destination.highlights) if place.destination else list(_GENERIC)
        curated = place.destination is not None
        for leg_day in range(count):
            day += 1
            first_of_trip, last_of_trip = day == 1, day == total
            if first_of_trip and last_of_trip:
                take = 1
            elif first_of_trip or last_of_trip or (leg_day == 0 and index > 0):
                take = 1
            else:
                take = per_day
            todays = _pick(sights, take, light=take == 1 and (first_of_trip or last_of_trip or leg_day == 0))
            base = place.destination.base if place.destination and place.destination.place_type != "city" else ""
            if first_of_trip and base:
                sights[:0] = todays  # an island or region starts with settling in at the base, not a sight
                todays = []
                text = f"Arrive and settle in at {base}; an easy first evening"
            elif first_of_trip:
                text = "Arrive and settle in; " + (f"an easy first look at {todays[0]}" if todays else "an easy evening stroll")
            elif leg_day == 0:
                text = f"Travel from {legs[index - 1][0]} to {city}; then " + (todays[0] if todays else "an easy evening stroll")
            elif last_of_trip:
                text = (f"Morning: {todays[0]}; then depart") if todays else "Souvenirs and a last stroll, then depart"
            else:
                text = "; ".join(todays) if todays else "a free day: revisit a favourite or take a day trip"
            if children and not (first_of_trip or last_of_trip):
                text += "; an afternoon break for the little ones"
            plan.append({"day": day, "place": city, "plan": text[0].upper() + text[1:]})
        if not curated:
            plan[-1]["generic"] = True
    wet = []
    for place in places:
        if month_num and place.destination and place.destination.climate \
                and place.destination.climate.rain_mm[month_num - 1] >= 100:
            wet.append(place.name)
    return {
        "status": "ok", "legs": [{"place": c, "days": n} for c, n in legs], "days": plan, "pace": pace,
        "wet_places": wet,
        "sights_from": {p.name: ("the planner's curated highlights" if p.destination else "a general pattern: "
                                 "fill in local sights") for p in places},
    }

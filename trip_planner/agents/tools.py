"""The planner's tools: plain typed functions whose docstrings the model reads.

Why plain functions: ADK turns each signature and docstring into a function declaration, so the same
tools serve the offline planner and Gemini, and every call shows up as a tool event in the session and
in traces. Every figure they return is an estimate from a stated model (`estimates.py`) and says so.

The trip's facts live in session state under `trip` (so they survive restarts and the bounded model
context); preferences that outlive one conversation live in ADK `user:` state.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from google.adk.tools import ToolContext

from trip_planner.agents import estimates as est
from trip_planner.agents.destinations import DESTINATIONS, Destination
from trip_planner.agents.estimators import (  # re-exported: the specialists' tool lists live here
    DEFAULT_DAYS,
    MONTHS,
    convert_currency,
    currency_code,
    estimate_flight_fare,
    estimate_hotel_cost,
    estimate_trip_budget,
    find_airports,
    nights_for,
    split_days,
    unknown_city,
)
from trip_planner.agents.places import (
    biggest_cities,
    resolve_country,
    resolve_place,
    suggest_places,
)

log = logging.getLogger(__name__)

TRIP_KEY = "trip"
PREF_HOME_AIRPORT = "user:home_airport"
PREF_CURRENCY = "user:currency"
PREF_TRAVEL_STYLE = "user:travel_style"
PREFERENCE_KEYS = {"home_airport": PREF_HOME_AIRPORT, "currency": PREF_CURRENCY, "travel_style": PREF_TRAVEL_STYLE}


def today() -> dt.date:
    """The planner's idea of today (one place, so every tool agrees on what is past)."""
    return dt.date.today()


def find_destination(name: str) -> Destination | None:
    """A curated destination by exact name (kept for callers of the first version)."""
    return DESTINATIONS.get(name.strip().lower())



# -- concierge tools -----------------------------------------------------------------------------


def lookup_city(name: str) -> dict[str, Any]:
    """Check whether a place is a city the planner knows, and suggest close matches when it is not.

    Args:
        name: A city name as the traveller wrote it, e.g. "Lisbon" or "Parris".

    Returns:
        status "ok" with the city's country, currency and airports; "country" with its main cities
        when the name is a country; or "unknown" with up to three suggested spellings.
    """
    place = resolve_place(name)
    if place is not None:
        return {"status": "ok", **place.as_dict(), **({"near": place.near} if place.near else {})}
    country = resolve_country(name)
    if country is not None:
        return {"status": "country", "country": country["name"], "suggestions": biggest_cities(country["iso"])}
    return {"status": "unknown", "name": name, "suggestions": suggest_places(name)}


def get_destination_overview(city: str) -> dict[str, Any]:
    """Basic facts about a destination: country, local currency, airports and relative cost level.

    Args:
        city: Destination city.
    """
    place = resolve_place(city)
    if place is None:
        return unknown_city(city)
    level = "expensive" if place.cost_index >= 1.3 else "moderate" if place.cost_index >= 0.9 else "affordable"
    return {"status": "ok", "city": place.name, "country": place.country, "currency": place.currency,
            "airports": list(place.airports), "cost_level": level}


def get_typical_weather(city: str, month: str) -> dict[str, Any]:
    """Typical weather in a place for a month: climate normals for curated places (mean high, low and
    rain, with the source), a latitude-and-season estimate elsewhere. Never a forecast.

    Args:
        city: Destination city, island or region, e.g. "Paris" or "Mallorca".
        month: Month name, e.g. "March".

    Returns:
        Average high and low in °C, rain (mm when known), a one-word feel and a rain hint, with the basis.
    """
    place = resolve_place(city)
    if place is None:
        return unknown_city(city)
    month_num = est.month_number(month)
    if month_num is None:
        return {"status": "error", "error": f"{month!r} is not a month I recognise."}
    return {
        "status": "ok",
        "city": place.name,
        "month": MONTHS[month_num - 1],
        **(weather := est.typical_weather(place, month_num)),
        "note": f"typical conditions ({weather['source']}), an estimate and not a forecast",
    }


def get_public_holidays(
    city: str, month: str | None = None, year: int | None = None, start_date: str | None = None,
    end_date: str | None = None,
) -> dict[str, Any]:
    """Public holidays in the destination's country during the trip (from the `holidays` package).

    Give either exact dates (ISO start_date and end_date) or a month and year.

    Args:
        city: Destination city.
        month: Month name when the exact dates are not known.
        year: Year of the trip.
        start_date: First day of the trip, YYYY-MM-DD.
        end_date: Last day of the trip, YYYY-MM-DD.
    """
    import holidays

    place = resolve_place(city)
    if place is None:
        return unknown_city(city)
    if start_date and end_date:
        first, last = dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date)
    else:
        month_num = est.month_number(month)
        if month_num is None:
            return {"status": "error", "error": "Tell me the month or the dates of the trip."}
        year = int(year or today().year)
        first = dt.date(year, month_num, 1)
        last = dt.date(year, month_num, calendar_days(year, month_num))
    try:
        calendar_ = holidays.country_holidays(place.country_code, years=sorted({first.year, last.year}))
    except NotImplementedError:
        return {"status": "unavailable", "city": place.name, "country": place.country,
                "error": f"I have no holiday calendar for {place.country}."}
    found = [{"date": day.isoformat(), "name": name} for day, name in sorted(calendar_.items()) if first <= day <= last]
    return {"status": "ok", "city": place.name, "country": place.country, "from": first.isoformat(),
            "to": last.isoformat(), "holidays": found}


def calendar_days(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


def _resolve_month_year(month: int, year: int | None, now: dt.date) -> tuple[int, int, str | None]:
    """The month's year: as given if still ahead; the next occurrence otherwise, with a note why."""
    upcoming = now.year if month >= now.month else now.year + 1
    if year is None:
        return month, upcoming, None
    if (year, month) < (now.year, now.month):
        return month, upcoming, (
            f"{MONTHS[month - 1]} {year} has already passed, so I'm planning for {MONTHS[month - 1]} {upcoming}."
        )
    return month, year, None


def update_trip_plan(
    tool_context: ToolContext,
    destinations: list[str] | None = None,
    origin: str | None = None,
    month: str | None = None,
    year: int | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    days: int | None = None,
    travellers: int | None = None,
    children: int | None = None,
    leg_days: list[int] | None = None,
    wishes: list[str] | None = None,
    region: str | None = None,
    budget_amount: float | None = None,
    budget_currency: str | None = None,
    hotel_class: str | None = None,
    pace: str | None = None,
    home_airport: str | None = None,
    preferred_currency: str | None = None,
    travel_style: str | None = None,
) -> dict[str, Any]:
    """Record what the traveller said about the trip; only the facts given change, the rest are kept.

    Call this whenever the traveller states or changes a fact. It keeps the trip in session state (so
    it survives restarts and long conversations) and the lasting preferences (home airport, currency,
    travel style) in the traveller's profile, so a new conversation already knows them.

    Args:
        destinations: Every city of the trip in order (replaces the previous list).
        origin: Departure city or IATA airport code for this trip.
        month: Travel month name, e.g. "March".
        year: Travel year; past months move to their next occurrence.
        start_date: Exact first day, YYYY-MM-DD.
        end_date: Exact last day, YYYY-MM-DD.
        days: Length of the trip in days.
        travellers: Number of travellers, children included.
        children: How many of the travellers are children or babies.
        leg_days: Days in each destination, in the order of destinations (e.g. [4, 2] for "Rome 4 days, then
            2 days in Florence"); the trip's days become their sum.
        wishes: What kind of trip, for suggestions and packing: warm, sunny, beach, island, snow, ski, city,
            culture, food, nature, hiking, christmas-markets, family, romance, nightlife.
        region: Where to look when no destination is named: Europe, Asia, North America, South America,
            Africa, Middle East or Oceania.
        budget_amount: The total budget.
        budget_currency: ISO currency code of the budget, e.g. "USD" or "EUR".
        hotel_class: One of budget, mid-range, upscale, luxury.
        pace: One of relaxed, moderate, packed.
        home_airport: The traveller's usual departure city or airport (a lasting preference).
        preferred_currency: Currency the traveller wants prices in (a lasting preference).
        travel_style: budget, mid-range, upscale or luxury as the traveller's usual style (lasting).

    Returns:
        The whole trip after the update, the preferences, and notes (e.g. a past date moved forward).
    """
    state = tool_context.state
    trip: dict[str, Any] = dict(state.get(TRIP_KEY) or {})
    notes: list[str] = []
    rejected: list[dict[str, Any]] = []
    now = today()
    if destinations is not None:
        kept = []
        for name in destinations:
            place = resolve_place(name)
            if place is None:
                rejected.append({"name": name, "suggestions": suggest_places(name)})
            elif place.name not in kept:
                kept.append(place.name)
        if kept:
            trip["destinations"] = kept
    if origin:
        place = resolve_place(origin)
        if place is None:
            rejected.append({"name": origin, "suggestions": suggest_places(origin)})
        else:
            trip["origin"] = origin.upper() if len(origin) == 3 and origin.isupper() else place.name
    if start_date:
        first = dt.date.fromisoformat(start_date)
        last = dt.date.fromisoformat(end_date) if end_date else None
        if first < now:
            shifted = _next_future(first, now)
            notes.append(f"{first:%-d %B %Y} is in the past, so I moved the trip to {shifted:%-d %B %Y}.")
            if last is not None:
                last = last + (shifted - first)
            first = shifted
        trip["start_date"] = first.isoformat()
        trip["month"], trip["year"] = first.month, first.year
        if last is not None and last >= first:
            trip["end_date"] = last.isoformat()
            trip["days"] = (last - first).days + 1
        else:
            trip.pop("end_date", None)
    elif month:
        month_num = est.month_number(month)
        if month_num is not None:
            m, y, note = _resolve_month_year(month_num, year, now)
            trip["month"], trip["year"] = m, y
            trip.pop("start_date", None)
            trip.pop("end_date", None)
            if note:
                notes.append(note)
    elif year and trip.get("month"):
        m, y, note = _resolve_month_year(int(trip["month"]), year, now)
        trip["year"] = y
        if note:
            notes.append(note)
    if days is not None and int(days) >= 1:
        trip["days"] = min(int(days), 90)
        if trip.get("start_date"):
            first = dt.date.fromisoformat(trip["start_date"])
            trip["end_date"] = (first + dt.timedelta(days=trip["days"] - 1)).isoformat()
    if travellers is not None and int(travellers) >= 1:
        trip["travellers"] = min(int(travellers), 30)
    if children is not None and int(children) >= 0:
        trip["children"] = min(int(children), max(0, int(trip.get("travellers") or 1) - 1))
    if leg_days and len(leg_days) == len(trip.get("destinations") or []) and all(int(n) >= 1 for n in leg_days):
        trip["leg_days"] = [min(int(n), 90) for n in leg_days]
        trip["days"] = sum(trip["leg_days"])
        if trip.get("start_date"):
            first = dt.date.fromisoformat(trip["start_date"])
            trip["end_date"] = (first + dt.timedelta(days=trip["days"] - 1)).isoformat()
    elif destinations is not None or days is not None:
        trip.pop("leg_days", None)  # the split no longer matches the places or the length
    if wishes is not None:
        trip["wishes"] = sorted({w.strip().lower() for w in wishes if w.strip()})[:8]
    if region:
        trip["region"] = region.strip()
    if budget_amount is not None and float(budget_amount) > 0:
        trip["budget"] = {"amount": float(budget_amount), "currency": currency_code(budget_currency)}
    if hotel_class in est.HOTEL_CLASSES:
        trip["hotel_class"] = hotel_class
    if pace in est.PACE_FACTORS:
        trip["pace"] = pace
    if trip != (state.get(TRIP_KEY) or {}):  # written only when it changed: a change shows the trip's card
        state[TRIP_KEY] = trip
    if home_airport:
        if resolve_place(home_airport) is not None:
            state[PREF_HOME_AIRPORT] = home_airport.upper() if len(home_airport) == 3 and home_airport.isupper() \
                else resolve_place(home_airport).name  # type: ignore[union-attr]
        else:
            rejected.append({"name": home_airport, "suggestions": suggest_places(home_airport)})
    if preferred_currency and preferred_currency.strip().upper() in est.USD_PER_UNIT:
        state[PREF_CURRENCY] = preferred_currency.strip().upper()
    if travel_style in est.HOTEL_CLASSES:
        state[PREF_TRAVEL_STYLE] = travel_style
    # The field names only at INFO: the values are what the person wrote (places, dates, budget).
    log.info("Trip updated: %s", ", ".join(sorted(trip)) or "nothing")
    log.debug("Trip now: %s", trip)
    towns = [{"name": p.name, "near": p.near, "airports": list(p.airports)}
             for p in (resolve_place(n) for n in (destinations or [])) if p is not None and p.near]
    return {"status": "ok", "trip": trip, "preferences": read_preferences(state), "notes": notes,
            "unknown_places": rejected, **({"small_places": towns} if towns else {})}


def _next_future(day: dt.date, now: dt.date) -> dt.date:
    """The same calendar day in the first year where it is not in the past (29 Feb falls to the 28th)."""
    year = now.year
    while True:
        try:
            candidate = day.replace(year=year)
        except ValueError:
            candidate = dt.date(year, 2, 28)
        if candidate >= now:
            return candidate
        year += 1


def read_preferences(state: Any) -> dict[str, Any]:
    """The traveller's lasting preferences from `user:` state, by short name."""
    return {name: state.get(key) for name, key in PREFERENCE_KEYS.items() if state.get(key)}


CONCIERGE_TOOLS: list[Callable[..., Any]] = [update_trip_plan, lookup_city, get_typical_weather, get_public_holidays, get_destination_overview]
FLIGHT_TOOLS: list[Callable[..., Any]] = [find_airports, estimate_flight_fare]
HOTEL_TOOLS: list[Callable[..., Any]] = [estimate_hotel_cost]
BUDGET_TOOLS: list[Callable[..., Any]] = [estimate_trip_budget, convert_currency]
TOOLS = [*CONCIERGE_TOOLS]

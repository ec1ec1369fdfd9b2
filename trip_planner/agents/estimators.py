"""The specialists' estimators: airports, fares, hotel costs, currency conversion and the whole trip's cost.

Why apart from `tools.py`: the concierge's tools record and look up the trip; these answer the flight,
hotel and budget specialists' briefs. Plain typed functions whose docstrings the model reads; every
figure is an estimate from a stated model (`estimates.py`) and says so.
"""

from __future__ import annotations

import math
from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.costs import split as split_days
from trip_planner.agents.costs import trip_cost
from trip_planner.agents.places import Place, resolve_place, suggest_places

MONTHS = est.MONTHS
DEFAULT_DAYS = 5


def nights_for(days: int) -> int:
    """A trip of N days has N-1 hotel nights (at least one)."""
    return max(1, int(days) - 1)


def unknown_city(city: str) -> dict[str, Any]:
    return {"status": "error", "error": f"I don't know the city {city!r}.", "suggestions": suggest_places(city)}


def currency_code(code: str | None) -> str:
    code = (code or "USD").strip().upper()
    return code if code in est.USD_PER_UNIT else "USD"


# -- flight specialist tools -------------------------------------------------------------------


def find_airports(city: str) -> dict[str, Any]:
    """The airports that serve a city (IATA codes, names), main one first, from airportsdata.

    Args:
        city: A city name or an IATA airport code.
    """
    from trip_planner.agents.places import airports

    place = resolve_place(city)
    if place is None:
        return unknown_city(city)
    data = airports()
    found = [{"code": c, "name": data[c]["name"]} for c in place.airports if c in data]
    return {"status": "ok", "city": place.name, "airports": found}


def estimate_flight_fare(
    origin: str, destination: str, month: str | None = None, travellers: int = 1, currency: str = "USD",
    one_way: bool = False,
) -> dict[str, Any]:
    """Estimate an economy fare between two cities from distance and season (an estimate, not a quote).

    Args:
        origin: Departure city or IATA code.
        destination: Arrival city or IATA code.
        month: Travel month, for the season factor.
        travellers: Number of travellers.
        currency: ISO currency code for the result.
        one_way: True for a single leg of a multi-city trip; False for a round trip.
    """
    start, end = resolve_place(origin), resolve_place(destination)
    if start is None:
        return unknown_city(origin)
    if end is None:
        return unknown_city(destination)
    currency = currency_code(currency)
    month_num = est.month_number(month)
    fare_usd, km = (est.one_way_fare_usd if one_way else est.round_trip_fare_usd)(start, end, month_num)
    travellers = max(1, int(travellers))
    per_person = est.convert(fare_usd, "USD", currency)
    return {
        "status": "ok",
        "from": start.name, "from_airport": (start.airports or ("",))[0],
        "to": end.name, "to_airport": (end.airports or ("",))[0],
        "distance_km": round(km),
        "flight_hours": round(est.flight_hours(km), 1),
        "likely_stops": 0 if km < 9000 else 1,
        "trip_type": "one way" if one_way else "round trip",
        "month": MONTHS[month_num - 1] if month_num else None,
        "per_person": round(per_person), "total": round(per_person * travellers),
        "travellers": travellers, "currency": currency,
        "note": "economy fare estimated from distance and season; " + est.ESTIMATE_NOTE,
    }


# -- hotel specialist tools --------------------------------------------------------------------


def estimate_hotel_cost(
    city: str, nights: int, month: str | None = None, travellers: int = 1, hotel_class: str = "mid-range",
    currency: str = "USD", children: int = 0,
) -> dict[str, Any]:
    """Estimate nightly and total hotel cost in a city (one room per two adults; an estimate).

    Args:
        city: Destination city.
        nights: Number of nights.
        month: Travel month, for the local high season.
        travellers: Number of travellers.
        hotel_class: budget, mid-range, upscale or luxury.
        currency: ISO currency code for the result.
        children: How many of the travellers are children (they share their parents' rooms).
    """
    place = resolve_place(city)
    if place is None:
        return unknown_city(city)
    hotel_class = hotel_class if hotel_class in est.HOTEL_CLASSES else "mid-range"
    currency = currency_code(currency)
    nights = max(1, int(nights))
    travellers = max(1, int(travellers))
    rooms = math.ceil((travellers - max(0, min(int(children or 0), travellers - 1))) / 2)
    nightly = est.convert(est.nightly_rate_usd(place, est.month_number(month), hotel_class), "USD", currency)
    return {
        "status": "ok", "city": place.name, "hotel_class": hotel_class, "nights": nights, "rooms": rooms,
        "nightly_per_room": round(nightly), "total": round(nightly * rooms * nights), "currency": currency,
        "note": "nightly rate estimated from the city's cost level, hotel class and season; " + est.ESTIMATE_NOTE,
    }


# -- budget specialist tools -------------------------------------------------------------------


def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict[str, Any]:
    """Convert an amount with fixed reference rates (approximate, not live).

    Args:
        amount: The amount to convert.
        from_currency: ISO code, e.g. "EUR".
        to_currency: ISO code, e.g. "USD".
    """
    try:
        value = est.convert(float(amount), from_currency, to_currency)
    except KeyError as err:
        return {"status": "error", "error": f"I have no reference rate for {err.args[0]}."}
    return {"status": "ok", "amount": float(amount), "from": from_currency.upper(), "to": to_currency.upper(),
            "converted": round(value, 2), "note": "fixed reference rate, approximate and not live"}


def estimate_trip_budget(
    destinations: list[str], days: int = DEFAULT_DAYS, travellers: int = 1, month: str | None = None,
    origin: str | None = None, hotel_class: str = "mid-range", pace: str = "moderate", currency: str = "USD",
    budget_amount: float | None = None, budget_currency: str | None = None, leg_days: list[int] | None = None,
    children: int = 0,
) -> dict[str, Any]:
    """Estimate a whole trip's cost (flights, hotels, daily spending) and compare it with the budget.

    Args:
        destinations: The trip's cities in order.
        days: Length of the trip in days, shared between the cities.
        travellers: Number of travellers.
        month: Travel month (season factors).
        origin: Departure city or IATA code; without it flights are left out.
        hotel_class: budget, mid-range, upscale or luxury.
        pace: relaxed, moderate or packed (daily spending).
        currency: ISO currency code for the results.
        budget_amount: The traveller's total budget, if given.
        budget_currency: The budget's currency code.
        leg_days: Days in each destination, in order (shared evenly if omitted).
        children: How many of the travellers are children (they share rooms; half the daily spending).
    """
    places: list[Place] = []
    for name in destinations:
        place = resolve_place(name)
        if place is None:
            return unknown_city(name)
        places.append(place)
    if not places:
        return {"status": "error", "error": "Tell me at least one destination."}
    currency = currency_code(currency)
    days, travellers = max(1, int(days)), max(1, int(travellers))
    hotel_class = hotel_class if hotel_class in est.HOTEL_CLASSES else "mid-range"
    month_num = est.month_number(month)
    valid_legs = leg_days if leg_days and len(leg_days) == len(places) and all(int(n) >= 1 for n in leg_days) else None
    if valid_legs:
        days = sum(int(n) for n in valid_legs)
    start = resolve_place(origin) if origin else None
    cost = trip_cost(places, days, travellers, month_num, start, hotel_class, pace, valid_legs, children)
    hotels, daily, flights = cost.hotels_usd, cost.daily_usd, cost.flights_usd
    total_usd = hotels + daily + (flights or 0.0)

    def c(usd: float) -> int:
        return round(est.convert(usd, "USD", currency))

    result: dict[str, Any] = {
        "status": "ok", "destinations": [p.name for p in places], "days": days, "travellers": travellers,
        "hotel_class": hotel_class, "currency": currency,
        "breakdown": {"flights": c(flights) if flights is not None else None, "hotels": c(hotels),
                      "food_transport_sights": c(daily)},
        "total": c(total_usd), "per_day": c(total_usd / days),
        "flights_included": flights is not None,
        "note": "trip cost estimated from stated fare, hotel and daily-spend models; " + est.ESTIMATE_NOTE,
    }
    if budget_amount is not None:
        b_currency = currency_code(budget_currency or currency)
        budget = est.convert(float(budget_amount), b_currency, currency)
        result["budget"] = round(budget)
        result["budget_as_given"] = {"amount": float(budget_amount), "currency": b_currency}
        result["budget_covers"] = budget >= c(total_usd)
        result["difference"] = round(budget - c(total_usd))
        per_day_usd = (total_usd - (flights or 0.0)) / days
        spare_usd = est.convert(budget, currency, "USD") - (flights or 0.0)
        result["affordable_days"] = max(0, int(spare_usd // per_day_usd)) if per_day_usd > 0 else days
    return result

"""The concierge's tools: plain typed functions whose docstrings the model reads.

Every figure they return is an estimate from a stated model and says so; none is a quote.
"""

from __future__ import annotations

import calendar
import math

from trip_planner.agents.destinations import DESTINATIONS, Destination

MONTHS = [calendar.month_name[i] for i in range(1, 13)]
_BASE_DAILY_USD = 100.0


def find_destination(name: str) -> Destination | None:
    return DESTINATIONS.get(name.strip().lower())


def _month_number(month: str) -> int | None:
    m = month.strip().lower()
    for i, full in enumerate(MONTHS, start=1):
        if full.lower().startswith(m[:3]) and len(m) >= 3:
            return i
    return None


def get_typical_weather(city: str, month: str) -> dict:
    """Estimate typical daytime weather in a city for a month.

    Args:
        city: Destination city, e.g. "Paris".
        month: Month name, e.g. "March".

    Returns:
        Estimated average high and low in °C and a short description, labelled as an estimate.
    """
    dest = find_destination(city)
    month_num = _month_number(month)
    if dest is None:
        return {"status": "error", "error": f"I don't have climate data for {city!r}."}
    if month_num is None:
        return {"status": "error", "error": f"{month!r} is not a month I recognise."}
    lat = abs(dest.latitude)
    annual_mean = 30.0 - 0.35 * lat
    amplitude = 0.16 * lat
    # Warmest around mid-July in the north, mid-January in the south.
    phase = (month_num - 7) if dest.latitude >= 0 else (month_num - 1)
    mean = annual_mean + amplitude * math.cos(2 * math.pi * phase / 12)
    high, low = round(mean + 4), round(mean - 4)
    feel = "hot" if high >= 28 else "warm" if high >= 21 else "mild" if high >= 14 else "cool" if high >= 6 else "cold"
    return {
        "status": "ok",
        "city": dest.name,
        "month": MONTHS[month_num - 1],
        "avg_high_c": high,
        "avg_low_c": low,
        "description": feel,
        "note": "estimate from latitude and season, not a forecast",
    }


def estimate_trip_budget(city: str, days: int = 5, travellers: int = 1, budget_usd: float | None = None) -> dict:
    """Estimate a mid-range trip cost in a city and compare it with the traveller's budget.

    Args:
        city: Destination city.
        days: Length of stay in days.
        travellers: Number of people travelling.
        budget_usd: The traveller's total budget in USD, if they gave one.

    Returns:
        Estimated daily and total costs (stay, food, local transport) and whether the budget covers them.
    """
    dest = find_destination(city)
    if dest is None:
        return {"status": "error", "error": f"I don't have cost data for {city!r}."}
    days = max(1, int(days))
    travellers = max(1, int(travellers))
    daily = round(_BASE_DAILY_USD * dest.cost_index * (1 + 0.6 * (travellers - 1)))
    total = daily * days
    result: dict = {
        "status": "ok",
        "city": dest.name,
        "days": days,
        "travellers": travellers,
        "daily_usd": daily,
        "total_usd": total,
        "breakdown_usd": {
            "lodging": round(total * 0.5),
            "food": round(total * 0.3),
            "local_transport_and_sights": total - round(total * 0.5) - round(total * 0.3),
        },
        "note": "estimate for mid-range travel, excluding flights; not a quote",
    }
    if budget_usd is not None:
        result["budget_usd"] = float(budget_usd)
        result["budget_covers_stay"] = float(budget_usd) >= total
        result["affordable_days"] = int(float(budget_usd) // daily) if daily else days
    return result


def get_destination_overview(city: str) -> dict:
    """Basic facts about a destination: country, local currency and relative cost level.

    Args:
        city: Destination city.
    """
    dest = find_destination(city)
    if dest is None:
        return {"status": "error", "error": f"I don't know {city!r} yet.", "known": sorted(d.name for d in DESTINATIONS.values())}
    level = "expensive" if dest.cost_index >= 1.3 else "moderate" if dest.cost_index >= 0.9 else "affordable"
    return {"status": "ok", "city": dest.name, "country": dest.country, "currency": dest.currency, "cost_level": level}


TOOLS = [get_destination_overview, get_typical_weather, estimate_trip_budget]

"""Two versions of a trip side by side: another month, other places, or another hotel class.

Why a comparison and not a change: "would July be cheaper?" or "Lisbon or Porto?" asks to see both
before choosing, so this tool changes nothing in the trip; the traveller picks, and only then does
`update_trip_plan` run. Both options are priced with the same models as the budget, and each place's
weather comes from its climate normals (or the labelled latitude estimate). All figures are estimates.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.costs import trip_cost
from trip_planner.agents.places import resolve_place


def _option(label: str, names: list[str], month: int | None, days: int, travellers: int, origin: str | None,
            hotel_class: str, currency: str, leg_days: list[int] | None, children: int) -> dict[str, Any]:
    places = []
    for name in names:
        place = resolve_place(name)
        if place is None:
            return {"label": label, "status": "error", "error": f"I don't know the place {name!r}."}
        places.append(place)
    start = resolve_place(origin) if origin else None
    cost = trip_cost(places, days, travellers, month, start, hotel_class, leg_days=leg_days, children=children)

    def c(usd: float | None) -> int | None:
        return None if usd is None else round(est.convert(usd, "USD", currency))

    weather = []
    if month:
        for place in places:
            w = est.typical_weather(place, month)
            weather.append({"place": place.name, "high_c": w["avg_high_c"], "low_c": w["avg_low_c"],
                            "rain_mm": w.get("rain_mm"), "description": w["description"], "basis": w["basis"]})
    return {"label": label, "status": "ok", "destinations": [p.name for p in places],
            "month": est.MONTHS[month - 1] if month else None, "hotel_class": hotel_class, "weather": weather,
            "flights": c(cost.flights_usd), "hotels": c(cost.hotels_usd), "daily": c(cost.daily_usd),
            "total": c(cost.total_usd), "currency": currency}


def compare_trip_options(
    destinations: list[str], days: int = 5, travellers: int = 1, month: str | None = None, origin: str | None = None,
    hotel_class: str = "mid-range", currency: str = "USD", alternative_destinations: list[str] | None = None,
    alternative_month: str | None = None, alternative_hotel_class: str | None = None,
    leg_days: list[int] | None = None, children: int = 0,
) -> dict[str, Any]:
    """Compare the trip as planned with one alternative, side by side (cost and weather); changes nothing.

    Give one or more alternatives: other places, another month, or another hotel class. Use it when the
    traveller asks "which is better/cheaper", "X or Y?", "how does July compare?"; record the choice with
    update_trip_plan only once they pick.

    Args:
        destinations: The trip's places as planned (option A).
        days: Length of the trip in days.
        travellers: Number of travellers.
        month: Travel month of option A.
        origin: Departure city or IATA code (fares are included when given).
        hotel_class: Hotel class of option A: budget, mid-range, upscale or luxury.
        currency: ISO currency code for the figures.
        alternative_destinations: Places of option B, if it differs in places.
        alternative_month: Month of option B, if it differs in month.
        alternative_hotel_class: Hotel class of option B, if it differs in class.
        leg_days: Days per place of option A, in order.
        children: How many travellers are children.

    Returns:
        Options A and B with estimated flights, hotels, daily spending and total, and each place's
        typical weather; plus the difference in total (B minus A). Estimates, not quotes.
    """
    currency = currency.upper() if currency and currency.upper() in est.USD_PER_UNIT else "USD"
    classes = est.HOTEL_CLASSES
    hotel_class = hotel_class if hotel_class in classes else "mid-range"
    month_a = est.month_number(month)
    month_b = est.month_number(alternative_month) or month_a
    class_b = alternative_hotel_class if alternative_hotel_class in classes else hotel_class
    places_b = list(alternative_destinations or destinations)
    if not destinations and not alternative_destinations:
        return {"status": "error", "error": "Tell me the places to compare."}
    if places_b == list(destinations) and month_b == month_a and class_b == hotel_class:
        return {"status": "error", "error": "Give an alternative: other places, another month or another hotel class."}
    days, travellers = max(1, int(days)), max(1, int(travellers))
    a = _option("A", list(destinations), month_a, days, travellers, origin, hotel_class, currency, leg_days, children)
    b = _option("B", places_b, month_b, days, travellers, origin, class_b, currency,
                leg_days if places_b == list(destinations) else None, children)
    result: dict[str, Any] = {"status": "ok", "days": days, "travellers": travellers, "options": [a, b],
                              "note": "both options priced with the same stated models; " + est.ESTIMATE_NOTE}
    if a["status"] == "ok" and b["status"] == "ok":
        result["difference"] = b["total"] - a["total"]
    return result

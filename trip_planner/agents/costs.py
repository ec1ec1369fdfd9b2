"""A whole trip's estimated cost in USD, shared by discovery and comparisons.

Why a module of its own: suggestions and side-by-side options must price a trip exactly as the budget
specialist's `estimate_trip_budget` does (same fare, hotel and daily-spend models from `estimates.py`),
without importing the tool module (which would make the tools import each other in a circle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trip_planner.agents import estimates as est
from trip_planner.agents.places import Place


@dataclass(frozen=True)
class TripCost:
    flights_usd: float | None
    hotels_usd: float
    daily_usd: float

    @property
    def total_usd(self) -> float:
        return self.hotels_usd + self.daily_usd + (self.flights_usd or 0.0)


def split(total: int, parts: int) -> list[int]:
    """Share `total` days between `parts` cities, the first cities taking any remainder (at least 1 each)."""
    parts = max(1, parts)
    base, extra = divmod(max(parts, int(total)), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def nights_per_leg(days: int, places: int, leg_days: list[int] | None = None) -> list[int]:
    """Hotel nights in each place: a leg's days, the last leg one fewer (the trip has days - 1 nights);
    shared evenly without a per-place split."""
    if leg_days and len(leg_days) == places and all(n >= 1 for n in leg_days):
        nights = [int(n) for n in leg_days]
        # The last day is the flight home; a one-day last stop is a visit without a night there.
        nights[-1] = max(0, nights[-1] - 1) if places > 1 else max(1, nights[-1] - 1)
        return nights
    total = max(1, int(days) - 1)
    return split(total, places) if total >= places else [1] * places


def trip_cost(places: list[Place], days: int, travellers: int, month: int | None, origin: Place | None,
              hotel_class: str = "mid-range", pace: str = "moderate", leg_days: list[int] | None = None,
              children: int = 0) -> TripCost:
    """Flights (round trip, or origin → each city → origin), hotels and daily spending.

    One room per two adults (children share), children's daily spending at half an adult's; fares are
    the same for everyone (a simplification: infant fares are usually lower)."""
    days, travellers = max(1, int(days)), max(1, int(travellers))
    children = max(0, min(int(children or 0), travellers - 1))
    rooms = math.ceil((travellers - children) / 2)
    spenders = travellers - children / 2
    day_split = leg_days if leg_days and len(leg_days) == len(places) else split(days, len(places))
    night_split = nights_per_leg(days, len(places), leg_days)
    hotels = sum(est.nightly_rate_usd(p, month, hotel_class) * rooms * n for p, n in zip(places, night_split))
    daily = sum(est.daily_spend_usd(p, pace) * spenders * d for p, d in zip(places, day_split))
    flights: float | None = None
    if origin is not None and places:
        if len(places) == 1:
            flights = est.round_trip_fare_usd(origin, places[0], month)[0] * travellers
        else:
            stops = [origin, *places, origin]
            flights = sum(est.one_way_fare_usd(a, b, month)[0] for a, b in zip(stops, stops[1:])) * travellers
    return TripCost(flights, hotels, daily)

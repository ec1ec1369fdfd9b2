"""Suggesting destinations when the traveller has not named one ("somewhere sunny in March").

Why a scored table rather than free text: the curated destinations carry kinds (beach, ski, city,
Christmas markets...), a region and monthly climate normals, so a wish like "warm in March, not too
far from Dublin, 2,500 euros for three" can be checked against facts: the month's mean high and
rain, the flight distance and the same cost models the budget uses. Every figure is an estimate.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.costs import trip_cost
from trip_planner.agents.destinations import _TABLE, Destination
from trip_planner.agents.places import Place, haversine_km, resolve_place

# What a traveller can wish for; "warm", "sunny" and "snow" are judged from the climate normals.
WISHES = ("warm", "sunny", "beach", "island", "snow", "ski", "city", "culture", "food", "nature", "hiking",
          "christmas-markets", "family", "romance", "nightlife")


def _place(d: Destination) -> Place:
    place = resolve_place(d.name)
    assert place is not None  # every curated entry resolves to itself
    return place


def _climate_score(d: Destination, month: int, wishes: set[str]) -> tuple[float, list[str]]:
    """How well the month's normals fit the wishes, and the words that say why."""
    c = d.climate
    if c is None:
        return 0.0, []
    high, low, rain = c.high_c[month - 1], c.low_c[month - 1], c.rain_mm[month - 1]
    score, why = 0.0, []
    if wishes & {"warm", "sunny", "beach"}:
        want = 25 if "beach" in wishes else 21
        score += max(-6.0, min(4.0, high - want)) - (2.0 if high > 33 else 0.0)
        if high >= want:
            why.append("warm")
    if wishes & {"sunny", "beach"} or ("warm" in wishes):
        score += 2.0 if rain < 40 else 0.0 if rain < 90 else -3.0
        if rain < 40:
            why.append("mostly dry")
    if wishes & {"snow", "ski"}:
        score += 4.0 if low <= -3 else 1.0 if low <= 0 else -6.0
        if low <= 0:
            why.append("freezing nights")
    if not wishes & {"warm", "sunny", "beach", "snow", "ski"}:
        # No climate wish: a pleasant month helps, extremes hurt.
        score += 1.0 if 12 <= high <= 30 and rain < 100 else -1.0 if high > 34 or high < 3 else 0.0
    return score, why


# Wishes a place must meet to be suggested at all: a ski trip is not a city with cold nights.
_HARD = {"ski": {"ski"}, "snow": {"snow", "ski"}, "beach": {"beach"}, "island": {"island"},
         "christmas-markets": {"christmas-markets"}}


def _meets_hard_wishes(d: Destination, wanted: set[str]) -> bool:
    return all(_HARD[w] & set(d.kinds) for w in wanted if w in _HARD)


def _enough_hard_matches(wanted: set[str], region: str | None) -> bool:
    """Filter only when at least three places meet the hard wishes (else rank them all)."""
    return sum(1 for d in _TABLE if _meets_hard_wishes(d, wanted)
               and (not region or d.region.lower() == region.strip().lower())) >= 3


def suggest_destinations(
    month: str | None = None, wishes: list[str] | None = None, region: str | None = None, origin: str | None = None,
    travellers: int = 1, children: int = 0, days: int = 7, budget_amount: float | None = None,
    budget_currency: str | None = None, currency: str = "USD", limit: int = 4, country: str | None = None,
) -> dict[str, Any]:
    """Suggest 3-5 destinations that fit what the traveller wants, when they have not named one.

    Scores the curated destinations by the month's climate normals (warm, sunny, snow), their kinds
    (beach, ski, city, culture, christmas-markets, family, ...), the region, the flight from the origin,
    and the estimated cost for the whole party against the budget.

    Args:
        month: Travel month name, e.g. "March" (climate is judged for it).
        wishes: What they want, from: warm, sunny, beach, island, snow, ski, city, culture, food, nature,
            hiking, christmas-markets, family, romance, nightlife.
        region: Europe, Asia, North America, South America, Africa, Middle East or Oceania.
        origin: Where they fly from (city or IATA code), for distance and fares.
        travellers: Everyone travelling, children included.
        children: How many of them are children or babies (favours short flights and family places).
        days: Length of the trip in days.
        budget_amount: Total budget for the party, if given.
        budget_currency: The budget's ISO currency code.
        currency: ISO code to give the estimates in.
        limit: How many suggestions (3 to 5).
        country: Only places in this country (e.g. "Italy"), when the traveller named a country.

    Returns:
        Suggestions best first, each with why it fits, the month's normals, flight hours and an
        estimated total for the party (an estimate, not a quote), and whether it fits the budget.
    """
    month_num = est.month_number(month)
    wanted = {w.strip().lower() for w in wishes or [] if w.strip().lower() in WISHES}
    currency = currency.upper() if currency and currency.upper() in est.USD_PER_UNIT else "USD"
    start = resolve_place(origin) if origin else None
    budget_usd = est.convert(float(budget_amount), budget_currency or currency, "USD") \
        if budget_amount and (budget_currency or currency).upper() in est.USD_PER_UNIT else None
    scored = []
    for d in _TABLE:
        if region and d.region.lower() != region.strip().lower():
            continue
        if country and d.country.lower() != country.strip().lower():
            continue
        place = _place(d)
        if start is not None and start.name == place.name:
            continue
        score, why = _climate_score(d, month_num, wanted) if month_num else (0.0, [])
        for wish in sorted((wanted - {"warm", "sunny", "snow", "family"}) & set(d.kinds)):
            # A wish among a place's first two kinds is what it is known for.
            score += 2.5 + (1.0 if wish in d.kinds[:2] else 0.0)
            why.append(wish.replace("-", " "))
        if not _meets_hard_wishes(d, wanted) and len(wanted) and _enough_hard_matches(wanted, region):
            continue
        if "christmas-markets" in wanted and month_num not in (None, 11, 12):
            score -= 2.0
        km = haversine_km(start.latitude, start.longitude, place.latitude, place.longitude) if start else None
        hours = est.flight_hours(km) if km is not None else None
        if hours is not None:
            score -= hours / (2.0 if days <= 5 or children else 4.0)
            if children and hours > 8:
                score -= 3.0
        if children and "family" in d.kinds:
            score += 2.5
            why.append("family-friendly")
        cost = trip_cost([place], days, travellers, month_num, start, children=children)
        fits = None
        if budget_usd is not None:
            fits = cost.total_usd <= budget_usd
            score -= 0.0 if fits else min(8.0, 6.0 * (cost.total_usd / budget_usd - 1) + 1.0)
        else:
            score -= 0.5 * d.cost_index  # without a budget, value still counts a little
        scored.append((score, d, place, why, hours, cost, fits))
    scored.sort(key=lambda s: (-s[0], s[1].name))
    limit = max(2 if country else 3, min(5, int(limit)))
    out = []
    for _score, d, place, why, hours, cost, fits in scored[:limit]:
        item: dict[str, Any] = {
            "name": d.name, "country": d.country, "type": d.place_type, "why": why[:4],
            "kinds": list(d.kinds), "total": round(est.convert(cost.total_usd, "USD", currency)),
            "flights_included": cost.flights_usd is not None, "currency": currency, "fits_budget": fits,
        }
        if month_num and d.climate:
            item.update(high_c=round(d.climate.high_c[month_num - 1]), low_c=round(d.climate.low_c[month_num - 1]),
                        rain_mm=round(d.climate.rain_mm[month_num - 1]))
        if hours is not None:
            item["flight_hours"] = round(hours, 1)
        out.append(item)
    return {
        "status": "ok", "month": est.MONTHS[month_num - 1] if month_num else None, "wishes": sorted(wanted),
        "region": region, "country": country, "origin": start.name if start else None, "travellers": max(1, int(travellers)),
        "days": max(1, int(days)), "suggestions": out,
        "note": "climate from monthly normals; costs for the whole party estimated from stated fare, hotel and "
                "daily-spend models; " + est.ESTIMATE_NOTE,
    }

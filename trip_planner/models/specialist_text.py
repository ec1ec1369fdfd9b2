"""What each specialist asks its tools for, and the section it writes from their results (offline model).

Why apart from the concierge's logic: a specialist answers one typed `TripBrief` with its own
estimators; these functions are its whole behaviour in the offline planner.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.specialists import TripBrief
from trip_planner.agents.costs import nights_per_leg

ToolCall = tuple[str, dict[str, Any]]


def _legs(brief: TripBrief) -> list[tuple[str, str, bool]]:
    if not brief.origin:
        return []
    if len(brief.destinations) == 1:
        return [(brief.origin, brief.destinations[0], False)]
    stops = [brief.origin, *brief.destinations, brief.origin]
    return [(a, b, True) for a, b in zip(stops, stops[1:])]


def flight_calls(brief: TripBrief) -> list[ToolCall]:
    return [("estimate_flight_fare", {"origin": a, "destination": b, "month": brief.month, "travellers": brief.travellers,
                                      "currency": brief.currency, "one_way": one_way})
            for a, b, one_way in _legs(brief)]


def flight_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
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


def hotel_calls(brief: TripBrief) -> list[ToolCall]:
    split = nights_per_leg(brief.days, len(brief.destinations), brief.leg_days)
    return [("estimate_hotel_cost", {"city": c, "nights": n, "month": brief.month, "travellers": brief.travellers,
                                     "hotel_class": brief.hotel_class, "currency": brief.currency,
                                     **({"children": brief.children} if brief.children else {})})
            for c, n in zip(brief.destinations, split) if n > 0]


def hotel_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
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


def budget_calls(brief: TripBrief) -> list[ToolCall]:
    args = {"destinations": brief.destinations, "days": brief.days, "travellers": brief.travellers,
            "month": brief.month, "origin": brief.origin, "hotel_class": brief.hotel_class, "pace": brief.pace,
            "currency": brief.currency, "budget_amount": brief.budget_amount, "budget_currency": brief.budget_currency,
            "leg_days": brief.leg_days, "children": brief.children or None}
    return [("estimate_trip_budget", {k: v for k, v in args.items() if v is not None})]


def budget_text(brief: TripBrief, results: list[dict[str, Any]]) -> str:
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

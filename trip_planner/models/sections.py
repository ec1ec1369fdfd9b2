"""Markdown sections for the planning tools' results: suggestions, a day plan, packing, a comparison,
official sources (offline model).

Why short lines and lists: the answers are read in Slack and Discord, where the adapters split long
messages; a section per tool keeps each readable on its own. Figures say they are estimates.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est


def _temps(item: dict[str, Any]) -> str:
    if item.get("high_c") is None:
        return ""
    rain = f", {item['rain_mm']} mm rain" if item.get("rain_mm") is not None else ""
    return f"{item['high_c']}°C by day, {item['low_c']}°C at night{rain}"


def suggestions(result: dict[str, Any], party: str) -> str:
    """The 3-5 suggested places, one line each: why, the month's normals, the flight, a rough cost."""
    month = result.get("month")
    where = f" in {result['country']}" if result.get("country") else f" in {result['region']}" if result.get("region") else ""
    wish = ", ".join(w.replace("-", " ") for w in result.get("wishes") or [])
    title = f"**Ideas{where}" + (f" for {month}" if month else "") + (f" ({wish})" if wish else "") + "**"
    lines = [title + f" — rough costs for {party}, {result['days']} days (estimates, not quotes):"]
    for i, s in enumerate(result.get("suggestions") or [], start=1):
        bits = []
        if s.get("why"):
            bits.append(", ".join(s["why"]))
        if s.get("high_c") is not None:
            bits.append(f"typically {_temps(s)}")
        if s.get("flight_hours") is not None:
            bits.append(f"~{s['flight_hours']} h flight")
        cost = f"about {est.money(s['total'], s['currency'])}" + ("" if s["flights_included"] else " plus flights")
        if s.get("fits_budget") is False:
            cost += " (over your budget)"
        elif s.get("fits_budget"):
            cost += " (fits your budget)"
        bits.append(cost)
        lines.append(f"{i}. **{s['name']}** ({s['country']}): " + "; ".join(bits))
    if not result.get("suggestions"):
        lines.append("- Nothing in my list fits all of that: tell me a little more, or name a place.")
    elif all(s.get("fits_budget") is False for s in result["suggestions"]):
        lines.append("_None of these fits the budget at mid-range prices: fewer days, budget hotels or a bigger budget "
                     "would help._")
    lines.append("Pick one (or name another place) and I'll plan it: weather, costs and a day-by-day plan.")
    return "\n".join(lines)


def itinerary(result: dict[str, Any]) -> str:
    if result.get("status") != "ok":
        return f"**Day-by-day plan:** {result.get('error', 'not available')}"
    legs = " → ".join(f"{leg['place']} ({leg['days']} day{'s' if leg['days'] > 1 else ''})" for leg in result["legs"])
    lines = [f"**Day-by-day plan** ({result['pace']} pace; {legs}):"]
    for day in result["days"]:
        lines.append(f"- **Day {day['day']}** · {day['place']}: {day['plan']}")
    generic = [p for p, src in result.get("sights_from", {}).items() if not src.startswith("the planner")]
    if generic:
        lines.append(f"_For {', '.join(generic)} this is a general pattern: tell me what you'd like to see and I'll fit it in._")
    if result.get("wet_places"):
        lines.append(f"_{', '.join(result['wet_places'])}: a wet month, so keep a museum or two for rainy days._")
    return "\n".join(lines)


def packing(result: dict[str, Any]) -> str:
    if result.get("status") != "ok":
        return f"**Packing:** {result.get('error', 'not available')}"
    basis = "; ".join(
        f"{w['place']}: {w['high_c']}°C by day, {w['low_c']}°C at night"
        + (f", {w['rain_mm']} mm rain" if w.get("rain_mm") is not None else "") + f" ({w['source']})"
        for w in result["weather"])
    lines = [f"**What to pack for {result['month']}** (from typical weather, not a forecast: {basis}):"]
    lines += [f"- {item}" for item in result["clothes"]]
    lines += [f"- {item}" for item in result["extras"]]
    lines.append(f"- Clothes for {result['outfits']} days" + (" and plan a laundry stop" if result["laundry"] else ""))
    lines.append("- Essentials: " + "; ".join(result["essentials"]))
    lines.append("_Check the forecast a few days before you leave._")
    return "\n".join(lines)


def comparison(result: dict[str, Any], ask: str | None = None) -> str:
    if result.get("status") != "ok":
        return f"**Comparison:** {result.get('error', 'not available')}"
    rows = []
    for option in result["options"]:
        if option.get("status") != "ok":
            rows.append(f"- {option.get('error')}")
            continue
        label = " → ".join(option["destinations"]) + (f" in {option['month']}" if option.get("month") else "") + \
            f", {option['hotel_class']} hotels"
        weather = "; ".join(f"{w['place']} {w['high_c']}°C/{w['low_c']}°C"
                            + (f", {w['rain_mm']} mm rain" if w.get("rain_mm") is not None else "") for w in option["weather"])
        cur = option["currency"]
        cost = f"about **{est.money(option['total'], cur)}** in total" + (
            "" if option.get("flights") is not None else " before flights")
        rows.append(f"- **{label}**: {cost}" + (f" · typical weather {weather}" if weather else ""))
    lines = [f"**Side by side** ({result['days']} days, {result['travellers']} traveller"
             f"{'s' if result['travellers'] > 1 else ''}; estimates, not quotes):", *rows]
    if "difference" in result:
        diff = result["difference"]
        cur = result["options"][0]["currency"]
        lines.append(f"- The second costs about {est.money(abs(diff), cur)} {'more' if diff > 0 else 'less'}." if diff
                     else "- They cost about the same.")
    lines.append((ask or "Which would you like?") + " I'll keep your trip as it is until you choose.")
    return "\n".join(lines)


def official(result: dict[str, Any]) -> str:
    topic = {"visa": "Visas and entry rules", "health": "Vaccinations and health", "safety": "Safety"}[result["topic"]]
    lines = [f"**{topic} for {result['country']}:** I can't give rules myself (they depend on your nationality and "
             f"change), so please check {result['check']}:"]
    lines += [f"- {s['name']}: {s['url']}" for s in result["sources"]]
    return "\n".join(lines)

"""A packing list from the climate normals of the places and month, the trip's kind and length.

Why from normals: "what should I bring to Vienna in February" is answered by the month's mean high
and low and its rain, not by a guess; the trip's kind (beach, ski, city) and children add their own
items, and a long trip packs for a week and plans a laundry stop. Normals are averages: the list says
to check the forecast before leaving.
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.places import resolve_place


def _clothes(high: float, low: float, rain: float) -> list[str]:
    items: list[str] = []
    if high >= 25:
        items += ["light, breathable clothes (shorts, linen, summer dresses)", "a sun hat and sunglasses",
                  "sunscreen (SPF 30 or more)"]
    elif high >= 16:
        items += ["t-shirts and light trousers", "a light sweater or jacket for the evenings"]
    elif high >= 6:
        items += ["warm layers: long sleeves and a sweater or fleece", "a medium-weight coat"]
    else:
        items += ["a warm winter coat", "thermal base layers", "a hat, gloves and a scarf"]
    if low <= 0 and high >= 6:
        items.append("a hat and gloves for cold mornings and nights")
    if high >= 25 and low < 17:
        items.append("a light layer for cooler evenings")
    if rain >= 100:
        items += ["a waterproof jacket or a compact umbrella", "shoes that cope with rain"]
    elif rain >= 50:
        items.append("a compact umbrella or a light rain jacket")
    return items


def suggest_packing(destinations: list[str], month: str, days: int = 5, wishes: list[str] | None = None,
                    children: int = 0) -> dict[str, Any]:
    """A packing list for the trip from each place's climate normals for the month.

    Args:
        destinations: The trip's places.
        month: Travel month name.
        days: Length of the trip in days.
        wishes: The trip's kind, e.g. beach, ski, hiking, city, christmas-markets.
        children: Number of children or babies travelling.

    Returns:
        The weather it is based on (normals, or the labelled latitude estimate), clothes, kind-specific
        items, essentials, and how many outfits to pack.
    """
    month_num = est.month_number(month)
    if month_num is None:
        return {"status": "error", "error": "Tell me the travel month: the list depends on the season."}
    weather = []
    beach_place = False
    for name in destinations:
        place = resolve_place(name)
        if place is None:
            return {"status": "error", "error": f"I don't know the place {name!r}."}
        w = est.typical_weather(place, month_num)
        beach_place = beach_place or bool(place.destination and "beach" in place.destination.kinds
                                          and float(str(w["avg_high_c"])) >= 20)
        weather.append({"place": place.name, "high_c": w["avg_high_c"], "low_c": w["avg_low_c"],
                        "rain_mm": w.get("rain_mm"), "basis": w["basis"], "source": w["source"]})
    if not weather:
        return {"status": "error", "error": "Tell me at least one destination."}
    high = max(float(str(w["high_c"])) for w in weather)
    low = min(float(str(w["low_c"])) for w in weather)
    rain = max(float(str(w["rain_mm"] if w["rain_mm"] is not None else 60)) for w in weather)
    clothes = _clothes(high, low, rain)
    if high - low >= 12 and high >= 6:
        clothes.append("layers: the day-night swing is large")
    wanted = {w.lower() for w in wishes or []}
    extras: list[str] = []
    if wanted & {"beach", "island"} or beach_place or (high >= 25 and "ski" not in wanted):
        extras += ["swimwear", "sandals or flip-flops"]
    if wanted & {"ski", "snow"}:
        extras += ["ski jacket and trousers (or rent them)", "ski socks and thermal base layers", "goggles",
                   "lip balm and sunscreen for the snow"]
    if "hiking" in wanted or "nature" in wanted:
        extras += ["walking boots", "a small daypack and a refillable bottle"]
    if children:
        extras += ["children's sun hat, layers and a spare outfit in the cabin bag", "snacks and entertainment for "
                   "the journey", "a baby carrier or light stroller if you have a baby"]
    days = max(1, int(days))
    outfits = min(days, 7)
    essentials = ["passport or ID (check it is valid for the whole trip)", "travel insurance details",
                  "phone charger and a plug adapter", "any medication you take, in your hand luggage",
                  "comfortable walking shoes"]
    return {
        "status": "ok", "month": est.MONTHS[month_num - 1], "weather": weather, "clothes": clothes,
        "extras": extras, "essentials": essentials, "outfits": outfits, "laundry": days > 7,
        "note": "from monthly climate normals (averages, not a forecast): check the forecast before you pack",
    }

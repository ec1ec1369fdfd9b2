"""The concierge's answer in Markdown, from this turn's tool results and the trip (offline model).

Why one place: every section (trip header, notes, weather, holidays, the specialists' sections,
suggestions, day plan, packing, comparison, official sources) is composed here in a fixed order, and
whatever shows a figure ends with the estimate footer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.specialists import BUDGET_SPECIALIST, FLIGHT_SPECIALIST, HOTEL_SPECIALIST
from trip_planner.agents.tools import DEFAULT_DAYS
from trip_planner.models import sections
from trip_planner.models.facts import Parsed

ESTIMATE_FOOTER = (
    "_All prices and temperatures here are **estimates** from stated models (distance, city cost level, "
    "climate normals or latitude and season), not quotes, bookings or forecasts._"
)


def _join(names: list[str], word: str = "or") -> str:
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + f" {word} " + bold[-1]


def _when(trip: dict[str, Any]) -> str:
    if trip.get("start_date"):
        first = dt.date.fromisoformat(trip["start_date"])
        if trip.get("end_date"):
            last = dt.date.fromisoformat(trip["end_date"])
            return f"{first:%-d %B} – {last:%-d %B %Y}"
        return f"from {first:%-d %B %Y}"
    if trip.get("month"):
        return f"{est.MONTHS[trip['month'] - 1]} {trip.get('year') or ''}".strip()
    return ""


def header(trip: dict[str, Any]) -> str:
    legs = trip.get("leg_days") or []
    places = trip.get("destinations") or []
    if legs and len(legs) == len(places) and len(places) > 1:
        bits = [" → ".join(f"{p} ({n} days)" for p, n in zip(places, legs))]
    else:
        bits = [" → ".join(places)]
    if _when(trip):
        bits.append(_when(trip))
    if trip.get("days"):
        bits.append(f"{trip['days']} days")
    if trip.get("travellers"):
        bits.append(_party(trip))
    if trip.get("origin"):
        bits.append(f"from {trip['origin']}")
    return "### Your trip: " + " · ".join(bits)


def _unknown_lines(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for name, result in results:
        if name == "lookup_city" and result.get("status") == "unknown":
            sugg = result.get("suggestions") or []
            lines.append(f"I don't know **{result['name']}**; did you mean {_join(sugg)}?" if sugg
                         else f"I don't know **{result['name']}**. Which city do you mean?")
        elif name == "lookup_city" and result.get("status") == "country":
            lines.append(f"**{result['country']}** is a country: which city would you like? For example "
                         f"{_join(result.get('suggestions') or [])}.")
        elif name == "update_trip_plan":
            for unknown in result.get("unknown_places") or []:
                sugg = unknown.get("suggestions") or []
                lines.append(f"I don't know **{unknown['name']}**" + (f"; did you mean {_join(sugg)}?" if sugg else "."))
    return lines


def _weather_line(w: dict[str, Any]) -> str:
    rain = f" ({w['rain_mm']} mm in the month)" if w.get("rain_mm") is not None else ""
    return (f"**Weather in {w['city']} in {w['month']}** (typical: {w.get('source', 'estimated')}; not a "
            f"forecast): {w['description']}, around {w['avg_high_c']}°C by day and {w['avg_low_c']}°C at night; "
            f"{w['rain']}{rain}.")


def _holiday_line(h: dict[str, Any]) -> str:
    if h.get("status") != "ok":
        return f"**Public holidays:** {h.get('error', 'not available')}"
    first, last = dt.date.fromisoformat(h["from"]), dt.date.fromisoformat(h["to"])
    span = f"{first:%B %Y}" if first.day == 1 and (last + dt.timedelta(days=1)).day == 1 and first.month == last.month \
        else f"{first:%-d %b} – {last:%-d %b %Y}"
    if not h["holidays"]:
        return f"**Public holidays in {h['country']} ({span}):** none, so shops and sights keep normal hours."
    days = "; ".join(f"{dt.date.fromisoformat(x['date']):%a %-d %b}: {x['name']}" for x in h["holidays"])
    return f"**Public holidays in {h['country']} ({span}):** {days}. Expect closures and busier trains."


def _missing(trip: dict[str, Any], prefs: dict[str, Any], parsed: Parsed) -> str | None:
    asks = []
    if not trip.get("month") and not trip.get("start_date"):
        asks.append("when you'd like to go (a month or dates)")
    if not trip.get("days"):
        asks.append(f"how many days (I've assumed {DEFAULT_DAYS})")
    if not trip.get("origin") and not prefs.get("home_airport"):
        asks.append("where you'll fly from")
    if not trip.get("travellers"):
        asks.append("how many travellers (I've assumed 1)")
    if not trip.get("budget"):
        asks.append("your budget")
    if not asks:
        return None
    asks = asks[:3]
    listed = asks[0] if len(asks) == 1 else ", ".join(asks[:-1]) + " and " + asks[-1]
    return f"To sharpen the plan, tell me {listed}."


FINISH_HINT = "When you're happy with the plan, react 👍 to my answer to finish the trip."
CAPABILITIES = (
    "I can suggest places for a month and a wish (\"somewhere warm in March\"), plan the days, estimate flights, "
    "hotels and the budget, list what to pack from the usual weather, compare options side by side, and point you "
    "to official pages for visas and health. Tell me where and when, or what kind of trip you'd like."
)


def _party(trip: dict[str, Any]) -> str:
    n = int(trip.get("travellers") or 1)
    kids = int(trip.get("children") or 0)
    return f"{n} traveller{'s' if n > 1 else ''}" + (f" ({kids} child{'ren' if kids > 1 else ''})" if kids else "")


def _noted(trip: dict[str, Any], prefs: dict[str, Any]) -> str | None:
    """What is known of a trip without a destination yet, so nothing the traveller said is dropped."""
    noted = []
    if _when(trip):
        noted.append(_when(trip))
    if trip.get("days"):
        noted.append(f"{trip['days']} days")
    if trip.get("travellers"):
        noted.append(_party(trip))
    if trip.get("origin") or prefs.get("home_airport"):
        noted.append(f"from {trip.get('origin') or prefs.get('home_airport')}")
    if trip.get("budget"):
        noted.append(f"budget {est.money(trip['budget']['amount'], trip['budget']['currency'])}")
    if trip.get("wishes"):
        noted.append(", ".join(w.replace("-", " ") for w in trip["wishes"]))
    if trip.get("region"):
        noted.append(f"in {trip['region']}")
    return "Noted: " + " · ".join(noted) + "." if noted else None


def _small_talk(parsed: Parsed, latest_is_greeting: bool) -> str:
    if parsed.thanks:
        return "You're welcome! " + FINISH_HINT
    if parsed.small_talk:
        return ("I'm doing well, thanks for asking! " if "how" in parsed.raw.lower() else "") + CAPABILITIES
    return "Hello! I'm your trip planner. " + CAPABILITIES + " " + FINISH_HINT if latest_is_greeting else ""


def compose_answer(parsed: Parsed, trip: dict[str, Any], prefs: dict[str, Any],
                   results: list[tuple[str, dict[str, Any]]], changed: set[str] | None = None) -> str:
    """Markdown from this turn's tool results and the trip in state."""
    lines: list[str] = []
    update = next((r for n, r in results if n == "update_trip_plan"), None)
    if update and update.get("status") == "ok":
        trip = update["trip"]
        prefs = update.get("preferences") or prefs
    lines.extend(_unknown_lines(results))
    if update:
        lines.extend(f"_Note: {note}_" for note in update.get("notes") or [])
        for town in update.get("small_places") or []:
            near, km = town["near"].rsplit(", ", 1)
            lines.append(f"**{town['name']}** is a small place about {km} from **{near}**: fly into "
                         f"{' or '.join(town['airports'][:2])} and travel on from there.")
    remembered = None
    changed = changed or set()
    if update and update.get("preferences") and changed & {"home_airport", "preferred_currency", "travel_style"}:
        saved = ", ".join(f"{k.replace('_', ' ')} **{v}**" for k, v in update["preferences"].items())
        remembered = f"I'll remember your {saved} for future trips too."
    figures = False
    official = [r for n, r in results if n == "official_travel_sources" and r.get("status") == "ok"]
    compared = [r for n, r in results if n == "compare_trip_options"]
    if official:
        lines.extend(sections.official(r) for r in official)
    elif parsed.official:
        lines.append("Which country is it for? I'll point you to the official pages for visas, health and safety "
                     "(I never guess those rules).")
    if not trip.get("destinations"):
        if remembered:
            lines.append(remembered)
        suggested = [r for n, r in results if n == "suggest_destinations" and r.get("status") == "ok"]
        talk = _small_talk(parsed, parsed.greeting and not (changed or suggested or official or compared))
        if talk:
            lines.append(talk)
        if not lines and not suggested and not compared:
            lines.append("I'd love to help you plan a trip.")
        if official:
            return "\n\n".join(lines)
        noted = _noted(trip, prefs)
        if noted and (changed or suggested):
            lines.append(noted)
        for result in compared:
            lines.append(sections.comparison(result))
            figures = True
        for result in suggested:
            lines.append(sections.suggestions(result, _party(trip)))
            figures = True
        if not suggested and not compared and not parsed.thanks and not parsed.small_talk and not parsed.official:
            lines.append("**Where would you like to go?** Tell me a place (or several) and when, or what you'd like "
                         "(\"somewhere warm\", \"a city break in Europe\", \"skiing in February\") and I'll suggest some.")
        if figures:
            lines.append(ESTIMATE_FOOTER)
        return "\n\n".join(lines)
    lines.insert(0, header(trip))
    if remembered:
        lines.append(remembered)
    month_question = f"Which month would you prefer: {_join(parsed.ambiguous_months)}?" if parsed.ambiguous_months else None
    for result in compared:
        lines.append(sections.comparison(result, month_question))
        figures = True
    if parsed.ambiguous_months and not compared:
        lines.append(f"Which month would you prefer: {_join(parsed.ambiguous_months)}? Weather, prices and "
                     "holidays differ, so I'll plan once you choose.")
        return "\n\n".join(lines)
    if compared or official:
        if figures:
            lines.append(ESTIMATE_FOOTER)
        return "\n\n".join(lines)
    asked_weather = bool({"weather", "packing"} & parsed.intents) and not (parsed.focus_month or trip.get("month"))
    if asked_weather:
        lines.append(f"Which month are you thinking of for **{' and '.join(trip['destinations'])}**? "
                     "I'll tell you the typical weather (and what to pack) then.")
    packed = any(n == "suggest_packing" for n, _r in results)
    for name, result in results:
        if name == "get_typical_weather" and result.get("status") == "ok" and not packed:
            lines.append(_weather_line(result))
            figures = True
    seen_countries: set[str] = set()
    for name, result in results:
        if name == "get_public_holidays" and result.get("country") not in seen_countries:
            seen_countries.add(result.get("country", ""))
            lines.append(_holiday_line(result))
    for name, result in results:
        if name == "plan_itinerary":
            lines.append(sections.itinerary(result))
        elif name == "suggest_packing":
            lines.append(sections.packing(result))
            figures = True
    for specialist in (FLIGHT_SPECIALIST, HOTEL_SPECIALIST, BUDGET_SPECIALIST):
        for name, result in results:
            if name == specialist and result.get("result"):
                lines.append(str(result["result"]))
                figures = True
    if len(lines) == 1 and not results:
        talk = _small_talk(parsed, parsed.greeting)
        lines.append((talk + " " if talk else "") + "Your trip is saved. Ask me for a day-by-day plan, what to pack, "
                     "the weather, holidays, flights, hotels or the budget, or change any detail.")
    if figures and "destinations" in changed and not any(n == "plan_itinerary" for n, _r in results):
        lines.append("Want a day-by-day plan, a packing list or another option side by side? Just ask.")
    missing = _missing(trip, prefs, parsed)
    if missing and not parsed.thanks:
        lines.append(missing)
    if figures:
        lines.append(ESTIMATE_FOOTER)
    return "\n\n".join(lines)

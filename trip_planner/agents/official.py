"""Where to check visas, entry rules, health advice and safety: official sources, never invented rules.

Why only pointers: entry and vaccination rules depend on the traveller's nationality, change often,
and a wrong answer can strand someone at a border. The planner names the destination's own
government and embassies, and the well-known advice services of governments and health bodies,
by their stable index pages (a country-specific link would have to be guessed).
"""

from __future__ import annotations

from typing import Any

from trip_planner.agents.places import resolve_country, resolve_place

_ADVICE = [
    {"name": "UK Foreign Office travel advice", "url": "https://www.gov.uk/foreign-travel-advice"},
    {"name": "US State Department country information", "url": "https://travel.state.gov/content/travel/en/international-travel/International-Travel-Country-Information-Pages.html"},
    {"name": "Irish Department of Foreign Affairs travel advice", "url": "https://www.ireland.ie/en/dfa/overseas-travel/advice/"},
    {"name": "Canadian government travel advice", "url": "https://travel.gc.ca/travelling/advisories"},
    {"name": "Australian Smartraveller", "url": "https://www.smartraveller.gov.au/destinations"},
]
_HEALTH = [
    {"name": "WHO international travel and health", "url": "https://www.who.int/travel-advice"},
    {"name": "US CDC travelers' health by destination", "url": "https://wwwnc.cdc.gov/travel/destinations/list"},
    {"name": "UK NaTHNaC TravelHealthPro country pages", "url": "https://travelhealthpro.org.uk/countries"},
]
TOPICS = ("visa", "health", "safety")


def official_travel_sources(country: str, topic: str = "visa") -> dict[str, Any]:
    """Official places to check entry and visa rules, vaccinations and health, or safety for a country.

    Never state a visa or vaccination rule yourself: they depend on nationality and change. Point to
    these sources instead.

    Args:
        country: The destination country, or a city or place in it (e.g. "Kenya" or "Nairobi").
        topic: visa (entry rules, passports, visas), health (vaccinations, medicines) or safety.

    Returns:
        The country's name, what to check where, and the sources (names and URLs).
    """
    topic = topic.strip().lower() if topic and topic.strip().lower() in TOPICS else "visa"
    found = resolve_country(country)
    name = found["name"] if found else None
    if name is None:
        place = resolve_place(country)
        name = place.country if place else country.strip()
    if topic == "visa":
        check = (f"the official government or embassy pages of {name}: the embassy or consulate of {name} in your "
                 "country lists visas and entry rules for your nationality, and any e-visa must come from the "
                 "official government portal it links to")
        sources = _ADVICE
    elif topic == "health":
        check = (f"a travel clinic or your doctor, ideally 6-8 weeks before you go, and the official health advice below "
                 f"(choose {name}); {name}'s embassy lists any vaccination certificate required at entry")
        sources = _HEALTH + _ADVICE[:2]
    else:
        check = f"your own government's travel advice for {name} (below), and register with your embassy if it offers it"
        sources = _ADVICE
    return {"status": "ok", "country": name, "topic": topic, "check": check, "sources": sources,
            "note": "rules depend on your nationality and change often: these official sources have the current ones"}

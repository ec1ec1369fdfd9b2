"""Places in a message and the part each plays: where to, where from, home, dropped, replaced, or a
day trip; countries named on their own; capitalised names nobody knows.

Why its own module: every place is found once, longest names first and without overlaps, and its role
is read from the few words before it (`window.before`), never from a scan of the whole prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trip_planner.agents.destinations import ALIASES
from trip_planner.agents.places import fold, resolve_country, resolve_place
from trip_planner.models.money import CURRENCY_WORDS
from trip_planner.models.window import before as _before

_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_ORIGIN_BEFORE = re.compile(r"\b(from|out of|leaving|departing|depart from|starting in|starting from)\s+(the\s+)?$", re.IGNORECASE)
_HOME_BEFORE = re.compile(
    r"\b(home airport is|home airport:|i live in|we live in|i'?m based in|i am based in|we'?re based in|"
    r"i (?:usually|always|normally) fly (?:from|out of)|we (?:usually|always|normally) fly (?:from|out of)|"
    r"i'?m from|i am from)\s+(the\s+)?$", re.IGNORECASE)
_REMOVE_BEFORE = re.compile(r"\b(drop|remove|skip|cancel|without|not|no longer|forget)\s+(the\s+)?$", re.IGNORECASE)
_EXCURSION_BEFORE = re.compile(r"\b(?:day[- ]trips?|excursions?|side trips?)\s{1,3}(?:to|from|in|at)\s{1,3}(?:the\s{1,3})?$",
                               re.IGNORECASE)
_INSTEAD_OF_BEFORE = re.compile(r"\binstead of\s+$", re.IGNORECASE)
_GEONAMES_BEFORE = re.compile(r"\b(to|in|from|visit|visiting|and|then|or|via|see|near|of|out of|leaving|about|is|add)\s+$|,\s*$", re.IGNORECASE)
_STRONG_BEFORE = re.compile(r"\b(to|visit|visiting|in|from)\s+$", re.IGNORECASE)
_STOP_PLACES = {
    "nice", "reading", "mobile", "bath", "orange", "split", "hope", "paradise", "independence", "surprise",
    "enterprise", "commerce", "temple", "victoria", "best", "young", "ocean", "sale", "march", "may", "university",
    "normal", "union", "liberty", "industry", "gap", "cities", "ramadan", "batman", "mission", "florida",
}
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
UNKNOWN_PLACE = re.compile(
    r"\b(?:to|visit|visiting|in|from|about)\s+([A-Z][^\W\d_]+(?:[ -][A-Z][^\W\d_]+){0,2})")
NOT_PLACES = {"i", "the", "my", "a", "an", "our", "your", "it", "this", "that", "there", "me", "us", "celsius",
               "fahrenheit", "euros", "dollars", "pounds", "usd", "eur", "gbp", "economy", "business", "spring",
               "summer", "autumn", "fall", "winter", "total", "budget", "mind", "general", "cash", "advance",
               "person", "luxury", "style", "january", "february", "march", "april", "may", "june", "july",
               "august", "september", "october", "november", "december", *_WEEKDAYS}
@dataclass(frozen=True)
class Mention:
    name: str
    start: int
    end: int
    role: str  # "destination", "origin", "home", "remove", "replaced"


def find_places(text: str) -> list[tuple[str, int, int]]:
    """Known cities (and IATA codes after from/to) in the text, longest names first, without overlaps."""
    words = list(WORD.finditer(text))
    taken: set[int] = set()
    found: list[tuple[str, int, int]] = []
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            span = words[i: i + size]
            if any(j in taken for j in range(i, i + size)):
                continue
            if any(text[a.end(): b.start()].strip() not in ("",) for a, b in zip(span, span[1:])):
                continue
            phrase = text[span[0].start(): span[-1].end()]
            key = fold(phrase)
            name = None
            if key in ALIASES:
                name = ALIASES[key].name
            elif size == 1 and re.fullmatch(r"[A-Z]{3}", phrase) and key not in CURRENCY_WORDS:
                if re.search(r"\b(from|to|out of|airport is|airport|fly|via)\s+$", _before(text, span[0].start()), re.IGNORECASE):
                    place = resolve_place(phrase)
                    name = phrase if place is not None else None
            elif all(w.group(0)[0].isupper() for w in span) and key not in NOT_PLACES:
                before = _before(text, span[0].start())
                # A reply that is only a place ("Nairobi", "Nairobi then") answers "which city?".
                allowed = _STRONG_BEFORE.search(before) if key in _STOP_PLACES else (
                    size > 1 or _GEONAMES_BEFORE.search(before) or _only_a_city(phrase, i, len(words)))
                if allowed and resolve_place(phrase):
                    name = resolve_place(phrase).name  # type: ignore[union-attr]
            if name:
                taken.update(range(i, i + size))
                found.append((name, span[0].start(), span[-1].end()))
    return sorted(found, key=lambda f: f[1])


def _only_a_city(phrase: str, index: int, words: int) -> bool:
    """A short reply that is a city of 50,000 or more ("Nairobi"), not a small town named like a word ("Deal")."""
    if index != 0 or words > 3 or len(phrase) <= 3:
        return False
    place = resolve_place(phrase)
    return place is not None and not place.near


def place_mentions(text: str) -> list[Mention]:
    result = []
    for name, start, end in find_places(text):
        before = _before(text, start)
        if _HOME_BEFORE.search(before):
            role = "home"
        elif _ORIGIN_BEFORE.search(before):
            role = "origin"
        elif _REMOVE_BEFORE.search(before):
            role = "remove"
        elif _INSTEAD_OF_BEFORE.search(before):
            role = "replaced"
        elif _EXCURSION_BEFORE.search(before):
            role = "excursion"  # "a day trip to Sintra" visits it from the trip's base; the trip stays
        else:
            role = "destination"
        result.append(Mention(name, start, end, role))
    return result


def countries_in(text: str) -> list[str]:
    """Country names in the text (capitalised, up to three words: "Kenya", "South Korea", "the UK")."""
    words = list(WORD.finditer(text))
    found: list[str] = []
    i = 0
    while i < len(words):
        for size in (3, 2, 1):
            span = words[i: i + size]
            if len(span) < size or not span[-1].group(0)[:1].isupper():
                continue
            if any(text[a.end(): b.start()] != " " for a, b in zip(span, span[1:])):
                continue
            country = resolve_country(text[span[0].start(): span[-1].end()])
            if country is not None and len(text[span[0].start(): span[-1].end()]) > 2:
                found.append(country["name"])
                i += size - 1
                break
        i += 1
    return list(dict.fromkeys(found))


def has_suggestions(country: str) -> bool:
    """Whether the curated table has at least two places in the country to suggest from."""
    return sum(1 for d in {id(d): d for d in ALIASES.values()}.values() if d.country == country) >= 2

"""Reading what one message says about the trip, relative to the trip so far.

The offline planner parses only the latest message: the trip so far comes from session state (the
model sees at most the last few turns), so "make it 2 more days" or "actually Lisbon instead" are read
against the stored facts and turned into the few facts that change. The result maps one-to-one onto
the arguments of the `update_trip_plan` tool.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.agents.places import fold, resolve_country, resolve_place
from trip_planner.models import asks, edits
from trip_planner.models.mentions import NOT_PLACES, UNKNOWN_PLACE, countries_in, find_places, has_suggestions, place_mentions
from trip_planner.models.money import CURRENCY_WORDS, MONEY, PREF_CURRENCY
from trip_planner.models.money import budget as read_budget
from trip_planner.models.when import NUM, SEASON, SEASON_MONTHS, YEAR, duration, explicit_dates, month_mentions, number


_INTENTS: dict[str, re.Pattern[str]] = {
    "weather": re.compile(r"\b(weather|temperatures?|rain\w*|sunny|warm|cold|climate|hot|snow\w*|pack|umbrella|degrees)\b", re.IGNORECASE),
    "holidays": re.compile(r"\b(holidays?|festivals?|closed|bank holiday|celebrations?)\b", re.IGNORECASE),
    "flights": re.compile(r"\b(flights?|fly|flying|fares?|airfares?|airports?|planes?|airlines?|tickets?)\b", re.IGNORECASE),
    "hotels": re.compile(r"\b(hotels?|stay|accommodations?|rooms?|hostels?|lodging|airbnb|sleep)\b", re.IGNORECASE),
    "budget": re.compile(r"\b(budget|costs?|afford\w*|prices?|expensive|cheap\w*|money|spend\w*|total|how much|enough)\b|[$€£¥]", re.IGNORECASE),
    "plan": re.compile(r"\b(plan|itinerary|overview|summary|everything|full)\b", re.IGNORECASE),
}
_QUESTION = re.compile(r"\?\s*$|^\s*(what|what's|whats|how|how's|is|are|will|when|does|do|can|should|which)\b", re.IGNORECASE)
_WHAT_IF = re.compile(r"\b(what if|how about|what about|instead|actually|rather|change|switch|make it|let'?s)\b", re.IGNORECASE)
_THANKS = re.compile(r"^\s*(thanks|thank you|thx|ok|okay|great|cool|perfect|awesome|nice|got it|bye|cheers)\b[\s!.,]*"
                     r"(a lot|so much|very much)?[\s!.]*$", re.IGNORECASE)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|howdy)\b", re.IGNORECASE)

_HOTEL_CLASS: list[tuple[str, re.Pattern[str]]] = [
    ("luxury", re.compile(r"\b(luxury|luxurious|5[- ]star|five[- ]star|high[- ]end|splurge)\b", re.IGNORECASE)),
    ("upscale", re.compile(r"\b(upscale|4[- ]star|four[- ]star|boutique)\b", re.IGNORECASE)),
    ("mid-range", re.compile(r"\b(mid[- ]?range|3[- ]star|three[- ]star|moderate hotels?)\b", re.IGNORECASE)),
    ("budget", re.compile(r"\b(budget (?:hotels?|travel\w*|style|accommodations?|stays?|options?)|hostels?|cheap(?:er)? "
                          r"(?:hotels?|places?|stays?|options?)|backpack\w*|2[- ]star|on a (?:tight |shoestring )?budget|shoestring)\b", re.IGNORECASE)),
]
_STYLE_IS_LASTING = re.compile(r"\b(i|we) (always|usually|prefer|like|love|generally|normally|only)\b|\bmy (travel )?style\b|\bi'?m a\b", re.IGNORECASE)
_PACE: list[tuple[str, re.Pattern[str]]] = [
    ("relaxed", re.compile(r"\b(relaxed|slow(?:er)?|laid[- ]back|leisurely|easy[- ]going|chill)\b", re.IGNORECASE)),
    ("packed", re.compile(r"\b(packed|busy|fast[- ]paced|see everything|action[- ]packed|intense)\b", re.IGNORECASE)),
    ("moderate", re.compile(r"\bmoderate pace\b", re.IGNORECASE)),
]
_HOW_MUCH_MORE = re.compile(r"\b(how much (?:more|less|extra|cheaper)|compare\w{0,2}|cheaper|pricier|more expensive|"
                            r"difference|worth it|versus|vs\.?)\b", re.IGNORECASE)
_ADD_WORDS = re.compile(r"\b(add|also|as well|too|plus|and then|extend|include|another)\b", re.IGNORECASE)


@dataclass
class Parsed:
    """What one message says: changes for `update_trip_plan`, what it asks about, what was unclear."""

    changes: dict[str, Any] = field(default_factory=dict)
    intents: set[str] = field(default_factory=set)
    focus_cities: list[str] = field(default_factory=list)
    focus_month: int | None = None
    unknown_places: list[str] = field(default_factory=list)
    ambiguous_months: list[str] = field(default_factory=list)
    greeting: bool = False
    thanks: bool = False
    small_talk: bool = False
    raw: str = ""
    # What the message asks for beyond facts (see asks.py): suggestions, official sources, a comparison.
    discover: bool = False
    country: str | None = None  # a country named as where to go ("a week in Italy")
    official: str | None = None  # visa, health or safety
    official_country: str | None = None
    compare: dict[str, Any] = field(default_factory=dict)  # destinations, months or hotel_classes: two options






















def _travellers(text: str) -> int | None:
    t = text
    m = re.search(rf"\b{NUM}\s+adults?\s+and\s+{NUM}\s+(kids?|children|child|teens?|teenagers?)\b", t, re.IGNORECASE)
    if m:
        return number(m.group(1)) + number(m.group(2))
    m = re.search(rf"\bwith\s+(?:my\s+)?{NUM}\s+(friends?|kids?|children|colleagues?)\b", t, re.IGNORECASE)
    if m:
        return number(m.group(1)) + 1
    m = re.search(rf"\b(?:family of|group of|party of)\s+{NUM}\b", t, re.IGNORECASE)
    if m:
        return number(m.group(1))
    m = re.search(rf"\b{NUM}\s+(people|persons|travell?ers|adults|of us|guests|pax|friends)\b", t, re.IGNORECASE)
    if m and m.group(1).lower() not in ("a", "an"):
        return number(m.group(1)) + (1 if m.group(2).lower() == "friends" and "with" in t.lower() else 0)
    m = re.search(rf"\b(?:we are|we're|there are|there will be)\s+{NUM}\b", t, re.IGNORECASE)
    if m:
        return number(m.group(1))
    m = re.search(r"\bfor\s+(two|three|four|five|six|\d)\b(?!\s*(?:days?|nights?|weeks?|months?|hours?|k\b|[\d,.]))", t, re.IGNORECASE)
    if m:
        return number(m.group(1))
    if re.search(r"\b(with|and) my (wife|husband|partner|girlfriend|boyfriend|spouse|fianc[ée]e?|friend|mum|mom|dad|"
                 r"mother|father|sister|brother|son|daughter)\b|\b(a couple|honeymoon|the two of us|both of us)\b", t, re.IGNORECASE):
        return 2
    if re.search(r"\b(solo|alone|by myself|just me|on my own|only me)\b", t, re.IGNORECASE):
        return 1
    return None




def _same_or_next_year(day: dt.date, first: dt.date) -> dt.date:
    """`day` in the first year where it is not before `first` (29 February falls to the 28th)."""
    for year in (first.year, first.year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:
            candidate = dt.date(year, 2, 28)
        if candidate >= first:
            return candidate
    return day








def parse_message(text: str, trip: dict[str, Any], prefs: dict[str, Any], now: dt.date) -> Parsed:
    """The facts this message changes, relative to `trip` and `prefs`, and what it asks about."""
    out = Parsed(greeting=bool(_GREETING.match(text)), thanks=bool(_THANKS.match(text)),
                 small_talk=bool(asks.SMALL_TALK.match(text)), raw=text[:200])
    out.intents = {name for name, pattern in _INTENTS.items() if pattern.search(text)}
    if asks.ITINERARY.search(text):
        out.intents = (out.intents - {"plan"}) | {"itinerary"}
    if asks.PACKING.search(text):
        out.intents = (out.intents - {"plan"}) | {"packing"}
    out.official = asks.official_topic(text)
    money_in_text = bool(MONEY.search(text))
    if money_in_text:
        out.intents.add("budget")
    question = bool(_QUESTION.search(text)) and not _WHAT_IF.search(text)
    asking_about = question and bool(out.intents & {"weather", "holidays", "flights", "hotels"})
    changes: dict[str, Any] = {}
    current = list(trip.get("destinations") or [])

    # Places: destinations, origin, home airport.
    found_places = place_mentions(text)
    wanted = [m.name for m in found_places if m.role == "destination"]
    removed = [m.name for m in found_places if m.role in ("remove", "replaced")]
    for m in found_places:
        if m.role == "origin":
            changes["origin"] = m.name
        elif m.role == "home":
            changes["home_airport"] = m.name
    wanted = [w for w in dict.fromkeys(wanted) if w != changes.get("origin") and w != changes.get("home_airport")]
    comparing = bool(asks.COMPARE.search(text)) or bool(re.search(r"\bor\b", text, re.IGNORECASE))
    if len(wanted) >= 2 and comparing and not _ADD_WORDS.search(text):
        out.compare = {"destinations": [[wanted[0]], [wanted[1]]]}
    elif len(wanted) == 1 and current and wanted[0] not in current and asks.COMPARE.search(text) \
            and not re.search(r"\binstead\b|\bactually\b", text, re.IGNORECASE):
        out.compare = {"destinations": [current, wanted]}
    if out.compare or (out.official and not current and len(wanted) == 1 and not out.intents - {"plan"}
                       and not re.search(r"\b(?:trip|travel|go|going|plan)\b", text, re.IGNORECASE)):
        pass  # a comparison or an official question names places without choosing them
    elif wanted and asking_about and current:
        out.focus_cities = wanted
    elif wanted or removed:
        if any(m.role == "replaced" for m in found_places) and current:
            replaced = [m.name for m in found_places if m.role == "replaced"]
            new: list[str] = []
            for city in current:
                if city in replaced:
                    new.extend(w for w in wanted if w not in new)
                elif city not in new:
                    new.append(city)
            if not any(w in new for w in wanted):
                new.extend(wanted)
        elif wanted and current and _ADD_WORDS.search(text) and not re.search(r"\binstead\b|\bactually\b", text, re.IGNORECASE):
            new = current + [w for w in wanted if w not in current]
        elif wanted:
            new = wanted
        else:
            new = list(current)
        new = [c for c in new if c not in removed or c in wanted]
        if new != current and new:
            changes["destinations"] = new

    # Unknown places: a capitalised name after "to/in/visit/from" that is no place we know. Countries
    # are read on their own: a destination ("a week in Italy"), or what an official question is about.
    countries = countries_in(text)
    known_spans = [(s, e) for _n, s, e in find_places(text)]
    for found in UNKNOWN_PLACE.finditer(text):
        name = found.group(1)
        first = name.split()[0]
        if fold(first) in NOT_PLACES or any(s <= found.start(1) < e for s, e in known_spans) \
                or asks.is_region_word(name) or resolve_country(name) is not None:
            continue
        if resolve_place(name) is not None:
            continue
        out.unknown_places.append(name)
    if out.official:
        out.official_country = countries[0] if countries else (
            resolve_place(wanted[0]).country if wanted and resolve_place(wanted[0]) else None)  # type: ignore[union-attr]
    elif not wanted and not current and countries:
        out.country = countries[0]
        if not has_suggestions(countries[0]):
            out.unknown_places.append(countries[0])
    elif not wanted and current:
        # A country named as where to go during a trip: "which city?", and the trip stays as it is.
        for found in UNKNOWN_PLACE.finditer(text):
            if resolve_country(found.group(1)) is not None and found.group(1) not in out.unknown_places:
                out.unknown_places.append(found.group(1))

    # When: exact dates, a month (and year), a season, or two months to choose from.
    first, last = explicit_dates(text, now)
    if first is None and last is not None and trip.get("start_date"):
        first = dt.date.fromisoformat(trip["start_date"])  # "we'll return on 16 May": the start stays
        last = _same_or_next_year(last, first)
    months = month_mentions(text)
    years = YEAR.findall(text)
    distinct_months = list(dict.fromkeys(m for m, _ in months))
    if first is not None:
        if not (asking_about and trip.get("month")):
            changes["start_date"] = first.isoformat()
            if last is not None and last >= first:
                changes["end_date"] = last.isoformat()
    elif len(distinct_months) > 1 and (re.search(r"\bor\b", text, re.IGNORECASE) or asks.COMPARE.search(text)):
        out.ambiguous_months = [est.MONTHS[m - 1] for m in distinct_months]
        if current or wanted:
            out.compare = {"months": out.ambiguous_months[:2]}
    elif len(distinct_months) == 1 and trip.get("month") and distinct_months[0] != trip.get("month") \
            and asks.COMPARE.search(text) and not _WHAT_IF.search(text):
        out.compare = {"months": [est.MONTHS[int(trip["month"]) - 1], est.MONTHS[distinct_months[0] - 1]]}
    elif distinct_months:
        month = distinct_months[-1]
        year = int(years[-1]) if years else None
        if asking_about and trip.get("month"):
            out.focus_month = month
        elif month != trip.get("month") or (year is not None and year != trip.get("year")) or trip.get("start_date"):
            changes["month"] = est.MONTHS[month - 1]
            if year is not None:
                changes["year"] = year
    elif re.search(r"\bnext month\b", text, re.IGNORECASE):
        changes["month"] = est.MONTHS[now.month % 12]
    elif SEASON.search(text) and not trip.get("month"):
        season = SEASON.search(text).group(1).lower()  # type: ignore[union-attr]
        out.ambiguous_months = [est.MONTHS[m - 1] for m in SEASON_MONTHS[season]]
    elif years and trip.get("month") and int(years[-1]) != trip.get("year"):
        changes["year"] = int(years[-1])

    days = duration(text, trip)
    if days is not None and days != trip.get("days") and "end_date" not in changes:
        changes["days"] = days
    travellers, children = edits.party(text, trip)
    if travellers is None and children is None:
        travellers = _travellers(text)
    if travellers is not None and travellers != trip.get("travellers"):
        changes["travellers"] = travellers
    if children is not None and children != trip.get("children"):
        changes["children"] = children
    edits.leg_changes(text, found_places, trip, changes)
    wished = [w for w in asks.wishes(text) if w not in (trip.get("wishes") or [])]
    if wished:
        changes["wishes"] = sorted({*(trip.get("wishes") or []), *wished})
    region = asks.region(text)
    if region and region != trip.get("region"):
        changes["region"] = region
    destinations_after = changes.get("destinations") or current
    out.discover = not destinations_after and not out.official and not out.small_talk and not out.unknown_places and bool(
        asks.DISCOVER.search(text) or wished or region or out.country or trip.get("wishes") or trip.get("region")
        or changes.get("month") or changes.get("start_date") or trip.get("month"))
    budget = read_budget(text, trip, prefs)
    if budget is not None:
        amount, currency = budget
        if (trip.get("budget") or {}) != {"amount": float(amount), "currency": currency}:
            changes["budget_amount"], changes["budget_currency"] = round(float(amount), 2), currency
    pref_currency = PREF_CURRENCY.search(text)
    if pref_currency:
        code = CURRENCY_WORDS[(pref_currency.group("a") or pref_currency.group("b")).lower()]
        if code != prefs.get("currency"):
            changes["preferred_currency"] = code
    classes = [name for name, pattern in _HOTEL_CLASS if pattern.search(text)]
    current_class = trip.get("hotel_class") or prefs.get("travel_style") or "mid-range"
    if (current or wanted) and not out.compare and (
            (len(classes) >= 2 and comparing) or (len(classes) == 1 and classes[0] != current_class
                                                   and _HOW_MUCH_MORE.search(text) and not _WHAT_IF.search(text))):
        # "How much more would luxury be?", "mid-range or upscale?": both side by side, nothing changes.
        out.compare = {"hotel_classes": classes[:2] if len(classes) >= 2 else [current_class, classes[0]]}
    elif classes:
        name = classes[0]
        if name != trip.get("hotel_class"):
            changes["hotel_class"] = name
        if _STYLE_IS_LASTING.search(text) and name != prefs.get("travel_style"):
            changes["travel_style"] = name
        out.intents.add("hotels")
    for name, pattern in _PACE:
        if pattern.search(text):
            if name != trip.get("pace"):
                changes["pace"] = name
            break
    out.changes = changes
    return out

"""Reading a trip's facts out of what the traveller wrote.

Later statements override earlier ones, so "actually Lisbon instead" or "make it 5 days" change one
fact and keep the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from trip_planner.agents.destinations import DESTINATIONS
from trip_planner.agents.tools import MONTHS

_CITY_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(DESTINATIONS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_MONTH_PATTERN = re.compile(
    r"\b(" + "|".join(m for m in MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?", re.IGNORECASE
)
_YEAR = re.compile(r"\b(20\d\d)\b")
_MONEY = re.compile(r"(?:\$\s?(\d[\d,]*(?:\.\d+)?)(k)?|(\d[\d,]*(?:\.\d+)?)(k)?\s?(?:usd|dollars|bucks)\b)", re.IGNORECASE)
_DAYS = re.compile(r"\b(\d{1,3})[\s-]*(day|days|night|nights)\b", re.IGNORECASE)
_WEEKS = re.compile(r"\b(a|one|two|\d)\s+weeks?\b", re.IGNORECASE)
_PEOPLE = re.compile(r"\b(\d{1,2})\s+(people|persons|travell?ers|adults|of us|guests)\b", re.IGNORECASE)
_UNKNOWN_PLACE = re.compile(r"\b(?:to|visit|in)\s+([A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+)?)")
_WORD_NUMBERS = {"a": 1, "one": 1, "two": 2}


@dataclass(frozen=True)
class TripFacts:
    destination: str | None = None
    unknown_place: str | None = None
    month: str | None = None
    year: int | None = None
    budget_usd: float | None = None
    days: int | None = None
    travellers: int | None = None


def _month_name(token: str) -> str:
    t = token.lower().rstrip(".")[:3]
    return next(m for m in MONTHS if m.lower().startswith(t))


def _money(match: re.Match[str]) -> float:
    digits = (match.group(1) or match.group(3)).replace(",", "")
    value = float(digits)
    if match.group(2) or match.group(4):
        value *= 1000
    return value


def update_facts(facts: TripFacts, text: str) -> TripFacts:
    changes: dict[str, object] = {}
    cities = list(_CITY_PATTERN.finditer(text))
    if cities:
        changes["destination"] = DESTINATIONS[cities[-1].group(1).lower()].name
        changes["unknown_place"] = None
    else:
        for candidate in _UNKNOWN_PLACE.findall(text):
            first = candidate.split()[0]
            if _MONTH_PATTERN.fullmatch(first) or first.lower() in {"i", "the", "my", "a"}:
                continue
            changes["unknown_place"] = candidate
            break
    # "may" is usually the verb; count it only after "in", "of", "early"... ("in may").
    months = [
        m
        for m in _MONTH_PATTERN.finditer(text)
        if m.group(1) != "may" or re.search(r"\b(in|of|early|late|mid)\s+$", text[: m.start()], re.IGNORECASE)
    ]
    if months:
        changes["month"] = _month_name(months[-1].group(1))
    years = _YEAR.findall(text)
    if years:
        changes["year"] = int(years[-1])
    money = list(_MONEY.finditer(text))
    if money:
        changes["budget_usd"] = _money(money[-1])
    days = _DAYS.findall(text)
    if days:
        changes["days"] = int(days[-1][0])
    else:
        weeks = _WEEKS.findall(text)
        if weeks:
            w = weeks[-1].lower()
            changes["days"] = 7 * (_WORD_NUMBERS.get(w) or int(w))
    people = _PEOPLE.findall(text)
    if people:
        changes["travellers"] = int(people[-1][0])
    return replace(facts, **changes) if changes else facts


def facts_from_messages(messages: list[str]) -> TripFacts:
    facts = TripFacts()
    for message in messages:
        facts = update_facts(facts, message)
    return facts

"""The edits people type about who travels and how the days are shared: "our friend wants to join",
"2 adults and a baby", "add 2 days in Florence".

Why their own module: each reads relative to the trip so far (a friend joining adds one to the
travellers already recorded; a new place with its own days extends the legs), and `facts.py` only
has to merge the results. Patterns are bounded and look back through `_before`-sized windows only.
"""

from __future__ import annotations

import re
from typing import Any

from trip_planner.agents.estimators import DEFAULT_DAYS, split_days
from trip_planner.models.mentions import Mention
from trip_planner.models.window import before as _before

NUM = r"(\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|couple of)"
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "couple of": 2}
_KIN = r"(?:friends?|colleagues?|sisters?|brothers?|cousins?|mum|mom|dad|parents?|partner|wife|husband|sons?|daughters?|" \
       r"girlfriend|boyfriend|fianc[ée]e?|grandparents?|grandma|grandpa|neighbou?rs?|in-laws)"
_JOIN = re.compile(
    rf"\b(?:(?:our|my|a|another|one more)\s{{1,5}}{_KIN}|{NUM}\s{{1,5}}(?:more\s{{1,5}})?{_KIN}|(?:he|she|they|someone|somebody))\s{{1,5}}"
    r"(?:(?:also|too)\s{1,5})?(?:wants? to|would like to|will|is going to|are going to|is|are|'s|'re|might|may|can)?\s{0,5}"
    r"(?:also\s{1,5})?(?:join|joining|come|coming|tag along|travel with)\b", re.IGNORECASE)
_MORE_PEOPLE = re.compile(
    rf"\b(?:{NUM}\s{{1,5}}(?:more|extra|additional)\s{{1,5}}(?:people|persons|travell?ers|adults|guests|friends)|"
    r"(?:another|one more|an extra|an additional)\s{1,5}(?:person|travell?er|adult|guest))\b", re.IGNORECASE)
_LEAVE = re.compile(rf"\b(?:(?:our|my)\s{{1,5}}{_KIN}|{NUM}\s{{1,5}}of us)\s{{1,5}}(?:can'?t|cannot|won'?t|will not|is not|isn'?t|"
                    r"are not|aren'?t)\s{1,5}(?:come|coming|join|joining|make it)\b|\bone (?:person |traveller )?less\b",
                    re.IGNORECASE)
_CHILD_WORD = r"(kids?|children|child|bab(?:y|ies)|toddlers?|infants?|teens?|teenagers?)"
_ADULTS_AND_CHILDREN = re.compile(rf"\b{NUM}\s{{1,5}}adults?\s{{0,5}}(?:and|&|\+|with|,)\s{{0,5}}{NUM}\s{{1,5}}{_CHILD_WORD}\b", re.IGNORECASE)
_CHILDREN = re.compile(rf"\b(?:with|and|plus|bringing|have|\+)\s{{1,5}}(?:our|my|the)?\s{{0,5}}{NUM}?\s{{0,5}}{_CHILD_WORD}\b", re.IGNORECASE)
_WE = re.compile(r"\b(we|us|our)\b", re.IGNORECASE)


def number(token: str | None) -> int:
    if not token:
        return 1
    token = token.lower().strip()
    return int(token) if token.isdigit() else _WORDS.get(token, 1)


def party(text: str, trip: dict[str, Any]) -> tuple[int | None, int | None]:
    """(travellers, children) the message sets, relative to the trip's travellers; None where unsaid."""
    current = int(trip.get("travellers") or 0)
    both = _ADULTS_AND_CHILDREN.search(text)
    if both:
        kids = number(both.group(2))
        return number(both.group(1)) + kids, kids
    joined = _JOIN.search(text)
    more = _MORE_PEOPLE.search(text)
    if joined or more:
        count = 1
        if more:
            count = number(more.group(1)) if more.group(1) else 1
        elif joined and joined.group(1):
            count = number(joined.group(1))
        return max(1, current or 1) + count, None
    if _LEAVE.search(text) and current > 1:
        return current - 1, None
    found = _CHILDREN.search(text)
    if found:
        plural = found.group(2).lower() in ("kids", "children", "babies", "toddlers", "teens", "teenagers")
        count = number(found.group(1)) if found.group(1) else (2 if plural else 1)
        if current:
            # Children already counted stay counted; new ones join the travellers already recorded.
            return (current if trip.get("children") else current + count), count
        if _WE.search(text):
            return 2 + count, count
        if re.search(r"\b(?:my|i|i'm|i am)\b", text, re.IGNORECASE):
            return 1 + count, count
        return None, count
    return None, None


_LEG_BEFORE = re.compile(rf"\b{NUM}\s{{1,5}}(?:more\s{{1,5}}|extra\s{{1,5}}|additional\s{{1,5}})?(days?|nights?)\s{{1,5}}(?:in|at|on|to|for)\s{{1,5}}(?:the\s{{1,5}})?$",
                         re.IGNORECASE)
_LEG_AFTER = re.compile(rf"^\s{{0,5}}(?:for\s{{1,5}})?(?:another\s{{1,5}})?{NUM}\s{{1,5}}(?:more\s{{1,5}}|extra\s{{1,5}})?(days?|nights?)\b", re.IGNORECASE)
_MORE_BEFORE = re.compile(r"\b(?:more|extra|additional|another)\s{1,5}(?:days?|nights?)\s{1,5}(?:in|at|on|to|for)\s{1,5}(?:the\s{1,5})?$"
                          r"|\b(?:add|adding|plus)\s{1,5}\S{1,10}\s{1,5}(?:days?|nights?)\s{1,5}(?:in|at|on|to|for)\s{1,5}(?:the\s{1,5})?$",
                          re.IGNORECASE)


def leg_days(before: str, after: str) -> tuple[int, bool] | None:
    """Days said for one place: "2 days in <place>" (in `before`) or "<place> for 4 days" (in `after`);
    with True when they are extra days ("2 more days in", "add 2 days in")."""
    found = _LEG_BEFORE.search(before)
    if found:
        n = number(found.group(1)) + (1 if found.group(2).lower().startswith("night") else 0)
        return n, bool(_MORE_BEFORE.search(before))
    found = _LEG_AFTER.match(after)
    if found:
        return number(found.group(1)) + (1 if found.group(2).lower().startswith("night") else 0), False
    return None


def leg_changes(text: str, mentions: list[Mention], trip: dict[str, Any], changes: dict[str, Any]) -> None:
    """Days per place: "add 2 days in Florence" (a new leg with its own days), "Rome for 4 days then
    Florence for 2", "2 more days in Rome"; the trip's length becomes their sum."""
    current = list(trip.get("destinations") or [])
    final = list(changes.get("destinations") or current)
    said: dict[str, tuple[int, bool]] = {}
    for m in mentions:
        if m.role == "destination" and m.name in final:
            days = leg_days(_before(text, m.start), text[m.end: m.end + 40])
            if days is not None:
                said[m.name] = days
    stored = list(trip.get("leg_days") or [])
    if stored and len(stored) == len(current):
        old = dict(zip(current, stored))
    elif len(current) == 1:
        old = {current[0]: int(trip.get("days") or DEFAULT_DAYS)}
    else:
        old = dict(zip(current, split_days(int(trip.get("days") or DEFAULT_DAYS), len(current)))) if current else {}
    if not said:
        more = changes.get("days") is not None and stored and len(stored) == len(final) and final == current
        if more and changes["days"] > sum(stored):
            changes["leg_days"] = stored[:-1] + [stored[-1] + changes["days"] - sum(stored)]
        return
    if len(final) < 2:
        if final and final[0] in said and not said[final[0]][1]:
            changes["days"] = said[final[0]][0]
        elif final and final[0] in said:
            changes["days"] = old.get(final[0], 0) + said[final[0]][0]
        return
    legs: list[int] = []
    for city in final:
        if city in said:
            n, extra = said[city]
            legs.append(old.get(city, 0) + n if extra and city in old else n)
        elif city in old:
            legs.append(old[city])
        else:
            return  # a place without days: share the trip's days evenly instead
    changes["leg_days"] = legs
    changes["days"] = sum(legs)
    changes.pop("end_date", None)

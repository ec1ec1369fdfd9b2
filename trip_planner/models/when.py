"""When a message says the trip happens and for how long: months, written-out dates (with a return
date), seasons, and durations ("5 days", "2 more days", "a long weekend").

Why its own module: dates and durations are read the same way whatever else the message says, and
`dateparser` does the calendar work once the bounded patterns here have found the words. "A day
trip" or "100 euros a day" are not the trip's length.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from trip_planner.agents import estimates as est
from trip_planner.models.window import before as _before

MONTH_ALT = r"january|february|march|april|may|june|july|august|september|october|november|december|" \
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"

MONTH = re.compile(rf"\b({MONTH_ALT})\b\.?", re.IGNORECASE)

YEAR = re.compile(r"\b(20\d\d)\b")

WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "couple of": 2,
}

NUM = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|couple of)"

SEASON = re.compile(r"\b(spring|summer|autumn|fall|winter)\b", re.IGNORECASE)

SEASON_MONTHS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11), "fall": (9, 10, 11), "winter": (12, 1, 2)}

def number(token: str) -> int:
    token = token.lower().strip()
    return int(token) if token.isdigit() else WORD_NUMBERS.get(token, 1)


def month_mentions(text: str) -> list[tuple[int, re.Match[str]]]:
    """Month names, not counting the verb "may" ("I may go") or "mar"/"sept" inside other words."""
    found = []
    for m in MONTH.finditer(text):
        token = m.group(1)
        if token.lower() == "may" and not (
            token == "May" and m.start() > 0 or re.search(r"\b(in|of|early|late|mid|during|until|from|to|for)\s+$",
                                                          _before(text, m.start()), re.IGNORECASE)
        ):
            continue
        month = est.month_number(token)
        if month:
            found.append((month, m))
    return found


def explicit_dates(text: str, now: dt.date, *, read_return: bool = True) -> tuple[dt.date | None, dt.date | None]:
    """A start (and end) date written out: "10-15 March", "from 3 to 9 June 2026", "March 10", ISO, and a
    return date ("... and return on 14 June"), read once (the rest is read without looking for another)."""
    import dateparser

    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": dt.datetime.combine(now, dt.time()),
                "PREFER_DAY_OF_MONTH": "first"}

    def parse(day: str, month: str, year: str | None) -> dt.date | None:
        explicit = f"{int(day)} {month} {year}" if year else f"{int(day)} {month}"
        parsed = dateparser.parse(explicit, languages=["en"], settings=settings)  # type: ignore[arg-type]
        return parsed.date() if parsed else None

    iso = re.findall(r"\b(20\d\d-\d\d-\d\d)\b", text)
    if iso:
        return dt.date.fromisoformat(iso[0]), dt.date.fromisoformat(iso[1]) if len(iso) > 1 else None
    day = r"(\d{1,2})(?:st|nd|rd|th)?"
    back = read_return and re.search(rf"\b(?:return(?:ing)?|back|fly(?:ing)? back|com(?:e|ing) back|home)\s{{1,3}}(?:on\s{{1,3}})?(?:the\s{{1,3}})?"
                     rf"(?:{day}(?:\s{{1,3}}of)?\s{{1,3}}({MONTH_ALT})\b|({MONTH_ALT})\.?\s{{1,3}}{day}\b)(?:,?\s{{1,3}}(20\d\d))?",
                     text, re.IGNORECASE)
    if back:
        # "... on 3 June and return on 14 June": the return is the last day; the rest gives the first.
        blanked = text[:back.start()] + " " * (back.end() - back.start()) + text[back.end():]
        first, _ = explicit_dates(blanked, now, read_return=False)
        year = back.group(5) or (str(first.year) if first else None)
        last = parse(back.group(1) or back.group(4), back.group(2) or back.group(3), year)
        if first is not None and last is not None and last < first:
            last = parse(back.group(1) or back.group(4), back.group(2) or back.group(3), str(first.year + 1))
        return first, last
    rng = re.search(rf"\b{day}\s*(?:-|–|to|until|till)\s*{day}(?:\s+of)?\s+({MONTH_ALT})\b\.?(?:,?\s+(20\d\d))?", text, re.IGNORECASE)
    if rng:
        first, last = parse(rng.group(1), rng.group(3), rng.group(4)), parse(rng.group(2), rng.group(3), rng.group(4))
        return first, last
    rng = re.search(rf"\b({MONTH_ALT})\.?\s+{day}\s*(?:-|–|to|until|till)\s*{day}(?:,?\s+(20\d\d))?", text, re.IGNORECASE)
    if rng:
        return parse(rng.group(2), rng.group(1), rng.group(4)), parse(rng.group(3), rng.group(1), rng.group(4))
    single = re.search(rf"\b{day}(?:\s+of)?\s+({MONTH_ALT})\b\.?(?:,?\s+(20\d\d))?", text, re.IGNORECASE)
    if single and int(single.group(1)) <= 31:
        return parse(single.group(1), single.group(2), single.group(3)), None
    single = re.search(rf"\b({MONTH_ALT})\.?\s+{day}\b(?!\s*(?:days?|nights?|weeks?|people|travell?ers|k\b))(?:,?\s+(20\d\d))?", text, re.IGNORECASE)
    if single and int(single.group(2)) <= 31 and not re.match(r"\s*20\d\d", text[single.start(2):]):
        return parse(single.group(2), single.group(1), single.group(3)), None
    relative = re.search(r"\b(tomorrow|next (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|week))\b", text, re.IGNORECASE)
    if relative:
        parsed = dateparser.parse(relative.group(1), languages=["en"], settings=settings)  # type: ignore[arg-type]
        if parsed:
            return parsed.date(), None
    return None, None


def duration(text: str, trip: dict[str, Any]) -> int | None:
    current = int(trip.get("days") or 0)
    more = re.search(rf"\b{NUM}\s+(more|extra|additional)\s+(days?|nights?)\b", text, re.IGNORECASE)
    if more and current:
        return current + number(more.group(1))
    less = re.search(rf"\b{NUM}\s+(days?|nights?)\s+(less|fewer|shorter)\b|\b{NUM}\s+(fewer|less)\s+(days?|nights?)\b", text, re.IGNORECASE)
    if less and current:
        return max(1, current - number(less.group(1) or less.group(4)))
    weekend = re.search(r"\b(long weekend|weekend)\b", text, re.IGNORECASE)
    # "a day trip", "100 euros a day", "2 day trips" are not the trip's length.
    days = [(m.group(1), m.group(2)) for m in re.finditer(rf"\b{NUM}[\s-]+(days?|nights?)\b(?![\s-]{{0,2}}trips?\b)",
                                                          text, re.IGNORECASE)
            if m.group(1).lower() not in ("a", "an")]
    if days:
        count, unit = days[-1]
        n = number(count)
        return n + 1 if unit.lower().startswith("night") else n
    weeks = re.findall(rf"\b{NUM}[\s-]+weeks?\b|\b(fortnight)\b", text, re.IGNORECASE)
    if weeks:
        count, fortnight = weeks[-1]
        return 14 if fortnight else 7 * number(count)
    if weekend and not re.search(r"\bnext weekend\b", text, re.IGNORECASE):
        return 4 if weekend.group(1).lower() == "long weekend" else 3
    return None

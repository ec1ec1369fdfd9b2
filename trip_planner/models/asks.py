"""What a message asks for beyond the trip's facts: suggestions, a day plan, packing, a comparison,
official sources, small talk; and the wishes and region that steer suggestions.

Why separate from `facts.py`: these readings decide which planning tool the offline model calls, not
which facts change. Every pattern is bounded (no unbounded scans), so a 4,000-character message is
read in linear time.
"""

from __future__ import annotations

import re

from trip_planner.agents.destinations import REGIONS

ITINERARY = re.compile(
    r"\b(itinerar(?:y|ies)|day[- ]by[- ]day|(?:each|every|per) day|daily plan|schedule|sketch|"
    r"what (?:to|should (?:we|i)|can (?:we|i)|could (?:we|i)) (?:do|see)|things to (?:do|see)|must[- ]sees?)\b",
    re.IGNORECASE)
PACKING = re.compile(r"\b(pack(?:ing)?|bring|wear|clothes|clothing|suitcase|what to take)\b", re.IGNORECASE)
_OFFICIAL: list[tuple[str, re.Pattern[str]]] = [
    ("health", re.compile(r"\b(vaccin\w{0,9}|jabs?|immuni[sz]\w{0,7}|malaria|yellow fever|health (?:rules|requirements|advice|risks?)|"
                          r"medicines?|medications?)\b", re.IGNORECASE)),
    ("visa", re.compile(r"\b(visas?|e-?visa|passports?|entry (?:rules|requirements)|esta|etias|border rules|"
                        r"need (?:a |an )?(?:visa|permit))\b", re.IGNORECASE)),
    ("safety", re.compile(r"\b(is it safe|safe to (?:go|travel|visit)|safety|dangerous|crime|travel advice|"
                          r"travel warnings?)\b", re.IGNORECASE)),
]
COMPARE = re.compile(r"\b(compare[sd]?|comparison|versus|vs\.?|side by side|cheaper|pricier|more expensive|"
                     r"better|warmer|colder|difference)\b", re.IGNORECASE)
DISCOVER = re.compile(
    r"\b(somewhere|anywhere|where (?:should|could|can|shall|would) (?:we|i) go|suggest\w{0,4}|ideas?|"
    r"recommend\w{0,6}|inspiration|(?:don'?t|do not) know where|not sure where|destinations?)\b", re.IGNORECASE)
SMALL_TALK = re.compile(
    r"^\s{0,5}(?:how are you|how's it going|who are you|what can you do|what do you do|help)\b[\s?!.]{0,5}$",
    re.IGNORECASE)

_WISHES: list[tuple[str, re.Pattern[str]]] = [
    ("warm", re.compile(r"\b(warm(?:th|er)?|hot|heat|tropical)\b", re.IGNORECASE)),
    ("sunny", re.compile(r"\b(sun(?:ny|shine)?)\b", re.IGNORECASE)),
    ("beach", re.compile(r"\b(beach(?:es)?|seaside|swim(?:ming)?|coast(?:al)?)\b", re.IGNORECASE)),
    ("island", re.compile(r"\b(islands?)\b", re.IGNORECASE)),
    ("ski", re.compile(r"\b(ski(?:ing)?|snowboard\w{0,3}|slopes)\b", re.IGNORECASE)),
    ("snow", re.compile(r"\b(snow(?:y)?|winter wonderland|northern lights)\b", re.IGNORECASE)),
    ("city", re.compile(r"\b(city(?: break)?|cities|urban)\b", re.IGNORECASE)),
    ("culture", re.compile(r"\b(culture|cultural|museums?|history|historic|art|architecture)\b", re.IGNORECASE)),
    ("food", re.compile(r"\b(food(?:ie)?|cuisine|gastronom\w{0,3}|wine)\b", re.IGNORECASE)),
    ("nature", re.compile(r"\b(nature|outdoors?|mountains?|national parks?|scenery)\b", re.IGNORECASE)),
    ("hiking", re.compile(r"\b(hik(?:e|es|ing)|trek(?:king)?|walking holiday)\b", re.IGNORECASE)),
    ("christmas-markets", re.compile(r"\b(christmas markets?|xmas markets?|advent markets?)\b", re.IGNORECASE)),
    ("family", re.compile(r"\b(family|kids?|child(?:ren)?|bab(?:y|ies)|toddlers?)\b", re.IGNORECASE)),
    ("romance", re.compile(r"\b(romantic|romance|honeymoon|anniversary)\b", re.IGNORECASE)),
    ("nightlife", re.compile(r"\b(nightlife|clubbing|partying|bars)\b", re.IGNORECASE)),
]
_REGION = re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in REGIONS), key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)


def official_topic(text: str) -> str | None:
    """visa, health or safety when the message asks about one of them."""
    for topic, pattern in _OFFICIAL:
        if pattern.search(text):
            return topic
    return None


def wishes(text: str) -> list[str]:
    """The kinds of trip the message wishes for, in a fixed order."""
    return [name for name, pattern in _WISHES if pattern.search(text)]


def region(text: str) -> str | None:
    """A region named for the whole trip ("somewhere in Europe"), as the destination table labels it."""
    found = _REGION.search(text)
    return REGIONS[found.group(1).lower()] if found else None


def is_region_word(name: str) -> bool:
    return name.strip().lower() in REGIONS

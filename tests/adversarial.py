"""Hostile messages up to the length limit: runs that make backtracking patterns quadratic, brackets,
invisible and direction-changing characters, emoji sequences, and keyword floods. Shared by the test
(which bounds each against a normal message, as a ratio) and the benchmark (which reports the worst)."""

from __future__ import annotations

LIMIT = 3990  # under the default 4,000-character limit, so each one reaches the planner


def _fill(unit: str, limit: int = LIMIT) -> str:
    return (unit * (limit // len(unit) + 1))[:limit]


CORPUS: dict[str, str] = {
    "digits": _fill("9"),
    "digits then a currency word": _fill("9")[:-5] + " usd",
    "digit punctuation": _fill("1,2.3,"),
    "dollar digits": "$" + _fill("9")[1:],
    "spaces": "Trip to" + " " * (LIMIT - 20) + "Rome",
    "tabs and newlines": _fill(" \t\n"),
    "nested brackets": "(" * (LIMIT // 2) + ")" * (LIMIT // 2),
    "square links": _fill("[a](b"),
    "zero-width": _fill("\u200b\u200c\u200dRome "),
    "bidi overrides": _fill("\u202eemoR ot pirt\u202c "),
    "emoji sequences": _fill("👨‍👩‍👧‍👦🏳️‍🌈"),
    "keywords": _fill("budget up more by extra add "),
    "capitalised words": _fill("In Paris Via Rome To Lisbon "),
    "place prefixes": _fill("to from in visit "),
    "dates": _fill("1-2 March 3 to 4 May 2027 "),
    "numbers and days": _fill("3 days 4 nights 2 weeks "),
    "question marks": _fill("?"),
    "commas": _fill(", "),
}
NORMAL = "I want to plan a trip to Lisbon for 4 days in May with 2 friends, budget $2,000"

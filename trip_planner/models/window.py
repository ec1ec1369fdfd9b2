"""The look-back window the parsers use instead of scanning whole prefixes."""

from __future__ import annotations

LOOK_BACK = 80


def before(text: str, start: int) -> str:
    """The words just before a position: the patterns that look back ("from", "instead of", "increase the
    budget by") need only these, and searching the whole prefix for every word would be quadratic."""
    return text[max(0, start - LOOK_BACK): start]

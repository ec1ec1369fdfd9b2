"""The concierge agent, its specialists and their tools."""

from __future__ import annotations


def warm_up() -> None:
    """Load the offline place data (cities, airports, fuzzy index) now rather than in the first turn,
    which otherwise takes most of a second longer than the rest."""
    from trip_planner.agents.places import resolve_place

    resolve_place("Paris")
    # A name no curated destination has loads the world's cities too: decoding that JSON holds the GIL
    # for a third of a second, which would stall every other conversation on the worker mid-turn.
    resolve_place("Qqzx")

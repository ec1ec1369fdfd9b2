"""The planning tools beyond the trip's facts: discovery, itineraries, packing, comparisons, official sources.

Why a separate list: these tools build on `tools.py` (places, estimates) without it importing them,
and the concierge offers them to every model, the offline planner and Gemini alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trip_planner.agents.compare import compare_trip_options
from trip_planner.agents.discovery import suggest_destinations
from trip_planner.agents.itinerary import plan_itinerary
from trip_planner.agents.official import official_travel_sources
from trip_planner.agents.packing import suggest_packing

PLANNING_TOOLS: list[Callable[..., Any]] = [
    suggest_destinations, plan_itinerary, suggest_packing, compare_trip_options, official_travel_sources,
]

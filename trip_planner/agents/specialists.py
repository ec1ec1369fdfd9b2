"""The three specialists the concierge hands work to: flights, hotels and the budget.

Each is an `LlmAgent` with its own tools, wrapped by the concierge in an ADK `AgentTool`: the
specialist runs in isolation on one brief and returns its text, and the concierge stays the agent the
traveller talks to (with `sub_agents`, the next user turn would go to whichever agent spoke last).
The brief is a typed `TripBrief`, so Gemini fills it as structured arguments and the offline planner
reads it as JSON.
"""

from __future__ import annotations

from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm
from pydantic import BaseModel, Field

from trip_planner.agents.tools import BUDGET_TOOLS, FLIGHT_TOOLS, HOTEL_TOOLS
from trip_planner.agents.trip_estimate import remember_estimate

FLIGHT_SPECIALIST = "flight_specialist"
HOTEL_SPECIALIST = "hotel_specialist"
BUDGET_SPECIALIST = "budget_specialist"


class TripBrief(BaseModel):
    """What a specialist needs to know about the trip; every field comes from the concierge's state."""

    destinations: list[str] = Field(description="The trip's cities in order.")
    origin: str | None = Field(default=None, description="Departure city or IATA code.")
    month: str | None = Field(default=None, description="Travel month name.")
    year: int | None = Field(default=None, description="Travel year.")
    days: int = Field(default=5, description="Length of the trip in days.")
    travellers: int = Field(default=1, description="Number of travellers.")
    hotel_class: str = Field(default="mid-range", description="budget, mid-range, upscale or luxury.")
    pace: str = Field(default="moderate", description="relaxed, moderate or packed.")
    currency: str = Field(default="USD", description="ISO code to give prices in.")
    budget_amount: float | None = Field(default=None, description="The traveller's total budget.")
    budget_currency: str | None = Field(default=None, description="The budget's currency code.")
    question: str = Field(default="", description="What the traveller asked, in their words.")
    leg_days: list[int] | None = Field(default=None, description="Days in each destination, in order, if set.")
    children: int = Field(default=0, description="How many of the travellers are children.")


_COMMON = """Every figure your tools return is an estimate from a stated model: say "estimate" next to it
and never present it as a quote or a booking. Answer in short Markdown for the concierge to pass on."""


def _specialist(
    model: BaseLlm | str, name: str, description: str, instruction: str, tools: list[Any], **extra: Any
) -> LlmAgent:
    """A specialist answers one typed brief with its own tools; the concierge keeps the conversation."""
    return LlmAgent(
        name=name,
        model=model,
        description=description,
        instruction=f"{instruction} {_COMMON}",
        tools=list(tools),
        input_schema=TripBrief,
        **extra,
    )


def build_flight_specialist(model: BaseLlm | str) -> LlmAgent:
    return _specialist(
        model,
        FLIGHT_SPECIALIST,
        "Flight specialist: airports and estimated economy fares for the trip's legs.",
        "You are the flight specialist. Find the airports and estimate the fares for every leg of the trip in "
        "the brief (a round trip for one city; origin -> each city -> origin for several).",
        FLIGHT_TOOLS,
    )


def build_hotel_specialist(model: BaseLlm | str) -> LlmAgent:
    return _specialist(
        model,
        HOTEL_SPECIALIST,
        "Hotel specialist: estimated nightly rates and hotel totals in each city of the trip.",
        "You are the hotel specialist. Estimate the hotel cost in every city of the brief at the requested "
        "hotel class, sharing the nights between the cities.",
        HOTEL_TOOLS,
    )


def build_budget_specialist(model: BaseLlm | str) -> LlmAgent:
    return _specialist(
        model,
        BUDGET_SPECIALIST,
        "Budget specialist (financial planner): whole-trip cost estimate against the budget.",
        "You are the budget specialist, a careful financial planner. Estimate the whole trip's cost and compare "
        "it with the traveller's budget; if it does not fit, say what would (fewer days, a cheaper hotel class).",
        BUDGET_TOOLS,
        after_tool_callback=remember_estimate,  # the card's "latest estimate"
    )

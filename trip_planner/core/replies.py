"""Every word the planner says that is not the model's answer, in one place.

Slack, Discord and the console show the same words for the same event, so a change of tone or a
translation is one edit here. Platform-specific command names come in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMPTY_PROMPT = "What would you like to plan? Tell me where you'd like to go, or ask me about a trip."
APOLOGY = "Sorry, something went wrong while planning that. Please try again in a moment."
TIMEOUT_APOLOGY = "Sorry, that took too long to plan. Please try again in a moment."
FILES_NOTE = "I can only read text for now. Please type your question as a message."
PLACEHOLDER = "_Planning your trip…_"

NEW_TRIP = "Started a new trip. Where would you like to go?"
SATISFIED = "Glad I could help! I've closed this trip. Send a new message any time to plan another."
UNSATISFIED = "Thanks for telling me. What should I change? Tell me and I'll rework the plan."
NOTHING_TO_END = "There is no open trip to end. Send me a message to start one."
COMMAND_WAIT = "One moment: I'm finishing the answer in progress first."
COMMAND_FAILED = "Sorry, that did not work. Please try again in a moment."
BUSY = "I'm still working on your earlier messages and will answer them in order. Please wait for those before sending more."
SLOW_DOWN = "You're sending messages faster than I can plan. Please wait a minute, then send your question again."
TOO_MANY_TRIPS = "You've started a lot of new trips in the last hour. Let's keep working on this one, or try again later."

# Said on its own, any of these starts a new trip on every platform (the core checks, not adapters).
RESTART_WORDS = frozenset({"new trip", "start over"})


def too_long(limit: int) -> str:
    return f"That message is too long for me: please keep it under {limit:,} characters and send it again."


def command_help(new: str, end: str, forget: str | None = None) -> str:
    """How to use the trip commands, named as the platform spells them (`/trip new`, `/newtrip`, `/new`)."""
    erase = f" `{forget}` erases what the planner keeps about you." if forget else ""
    return f"Use `{new}` to start a new trip or `{end}` to finish the current one.{erase}"


def console_help(new: str = "/new", end: str = "/end", leave: str = "/quit", forget: str = "/forget") -> str:
    return (
        f"Commands: {new} starts a new trip, {end} finishes this one (as satisfied), {forget} erases what "
        f"the planner keeps about you, {leave} leaves."
    )


def ready(model: str) -> str:
    return f"Trip planner ready ({model} model). {console_help()}"


# -- erasure ("forget me") -------------------------------------------------------------------------


def forget_confirm(confirm: str) -> str:
    """The first `forget`: what it erases, and the exact command that goes ahead (stateless, so the
    confirmation may reach any worker)."""
    return (
        "This erases everything the trip planner keeps about you here: your trips, preferences, messages "
        f"and answers, in every conversation. It cannot be undone. To go ahead, send `{confirm}`."
    )


FORGOTTEN = "Done: everything the trip planner kept about you is erased. Say hello any time to start afresh."
FORGOTTEN_TRACES_LEFT = (
    "Done: everything the trip planner kept about you is erased. Copies in the team's tracing records "
    "could not be erased just now; the operators can erase them (they are told in the logs)."
)


# Feedback buttons under an answer (Slack's feedback buttons, Discord's buttons): labels and the
# private note a person gets for clicking under someone else's answer.
NOT_YOUR_TRIP = "Only the person who asked can close this trip."
DONE_LABEL = "Done"
REWORK_LABEL = "Rework"
DONE_HINT = "Done: this plan works for me, close the trip"
REWORK_HINT = "Rework: this plan needs changes"

# Slack's status line under a DM while a turn runs (Slack shows "<App name> is planning your trip…")
# and the loading messages it rotates through meanwhile (at most 10).
STATUS = "is planning your trip…"
LOADING_MESSAGES = (
    "Reading your request…",
    "Looking at flights…",
    "Checking hotels…",
    "Adding up the budget…",
)


# Slack's Messages tab (agent view): a few ways to start, offered when a person opens it (at most 4;
# the title is what the person sees, the message what is sent for them).
SUGGESTED_PROMPTS_TITLE = "Where to next?"
SUGGESTED_PROMPTS = (
    ("Plan a weekend away", "Plan a weekend in Lisbon next month for two, budget 1,200 EUR"),
    ("Find somewhere warm", "Where could I go somewhere warm in February for a week?"),
    ("Price a city break", "How much would 5 days in Kyoto in April cost from London?"),
    ("Compare two cities", "Compare Barcelona and Rome for a long weekend in May"),
)


# Slack's App Home tab: the open trip, recent trips and two buttons.
HOME_CURRENT = "Your trip"
HOME_NO_TRIP = "No trip open. Send me a message to start planning one."
HOME_NO_FACTS = "A trip is open, with no places or dates yet."
HOME_RECENT = "Recent trips"
HOME_NONE_YET = "None yet."
HOME_NEW_TRIP = "New trip"
HOME_END_TRIP = "End trip"
HOME_OUTCOMES = {"open": "open", "satisfied": "👍 done", "unsatisfied": "👎 needed changes", "ended": "closed"}


# The trip card (Slack's Block Kit answer and App Home, Discord's embed): labels of its facts.
CARD_NO_PLACE = "A new trip"
CARD_FROM = "From"
CARD_DATES = "Dates"
CARD_TRAVELLERS = "Travellers"
CARD_BUDGET = "Budget"
CARD_ESTIMATE = "Latest estimate"
CARD_HOTELS = "Hotels"


def card_travellers(count: int, children: int) -> str:
    adults = count - children
    words = [f"{adults} adult{'s' if adults != 1 else ''}"] if adults > 0 else []
    if children:
        words.append(f"{children} child{'ren' if children != 1 else ''}")
    return ", ".join(words)


def card_estimate(total: str, fits: bool | None) -> str:
    """The latest whole-trip estimate, and whether it fits the budget when one was given."""
    verdict = "" if fits is None else " (within budget)" if fits else " (over budget)"
    return f"about {total}{verdict}"


def activity_status(tool: str, args: Mapping[str, Any]) -> str | None:
    """The status line while the planner uses `tool` (what a person sees instead of the generic
    loading messages); None for a tool not worth a line of its own."""

    def place(key: str) -> str:
        value = args.get(key)
        if isinstance(value, list):
            value = " and ".join(str(v) for v in value[:3] if v)
        return str(value)[:60] if value else ""

    where, origin = place("destinations") or place("city"), place("origin")
    if tool == "flight_specialist":
        return f"is estimating flights from {origin}…" if origin else f"is estimating flights to {where}…" if where else "is estimating flights…"
    if tool == "hotel_specialist":
        return f"is checking hotels in {where}…" if where else "is checking hotels…"
    if tool == "budget_specialist":
        return "is adding up the budget…"
    if tool == "get_typical_weather":
        return f"is looking up the weather in {where}…" if where else "is looking up the weather…"
    if tool == "get_public_holidays":
        return "is checking public holidays…"
    if tool in ("get_destination_overview", "lookup_city"):
        return f"is reading up on {where}…" if where else None
    if tool == "update_trip_plan":
        return "is noting your trip…"
    return None


def activity_step(tool: str, args: Mapping[str, Any]) -> str | None:
    """The same activity as a step of a streamed answer ("Estimating flights from London"): Slack
    shows it as a task above the words, Discord as a small line."""
    status = activity_status(tool, args)
    if status is None:
        return None
    words = status.removeprefix("is ").rstrip("…")
    return words[:1].upper() + words[1:]

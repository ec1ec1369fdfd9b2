"""Scripted conversations through the real TripPlannerRunner and the offline planner.

Each case is a list of turns: what the traveller writes, the facts the answer must contain, and what
it must not contain. "/new" starts a new conversation for the same user id (preferences in ADK
`user:` state must carry over; trip facts must not). Nothing of ours is mocked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pytest

from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner


def upcoming(month: int) -> int:
    """The year of the next occurrence of a month (this month counts as upcoming)."""
    today = dt.date.today()
    return today.year if month >= today.month else today.year + 1


@dataclass(frozen=True)
class Turn:
    text: str
    expect: tuple[str, ...] = ()
    refuse: tuple[str, ...] = ()


def T(text: str, *expect: str, refuse: tuple[str, ...] = ()) -> Turn:
    return Turn(text, expect, refuse)


NEW = T("/new")
EST = "estimates"

CASES: dict[str, list[Turn]] = {
    "seed conversation": [
        T("I want to plan a trip to Paris in March 2025", "Paris", "already passed", f"March {upcoming(3)}",
          "Weather in Paris in March", EST),
        T("What's the weather like in March?", "Paris", "March", "°C", "not a forecast"),
        T("What if I increase my budget to $2,000?", "Paris", "$2,000", "covers this", EST),
    ],
    "greeting asks where": [T("Hello!", "Hello", "Where would you like to go", refuse=("°C",))],
    "slot filling one fact at a time": [
        T("Hi, I need a holiday", "Where would you like to go"),
        T("Lisbon", "Lisbon", "when you'd like to go"),
        T("in May", f"May {upcoming(5)}", "Weather in Lisbon in May"),
        T("for 4 days", "4 days", "3 nights"),
        T("we are 3 people", "3 travellers", "2 rooms"),
    ],
    "flights from an origin": [
        T("Flights from London to Rome in June?", "LHR", "FCO", "round trip", "not quotes"),
    ],
    "make it 5 days": [
        T("Paris in April for 7 days", "7 days", "6 nights"),
        T("make it 5 days", "5 days", "4 nights", "Paris", refuse=("7 days",)),
    ],
    "two more days": [T("Rome in May for 3 days", "3 days"), T("add 2 more days", "5 days")],
    "actually Lisbon instead": [
        T("Trip to Paris in May", "### Your trip: Paris"),
        T("Actually Lisbon instead", "### Your trip: Lisbon", "Weather in Lisbon in May", refuse=("Paris",)),
    ],
    "what if we are four": [
        T("Rome in October for 5 days", "Rome", "5 days"),
        T("What if we are 4 people?", "4 travellers", "2 rooms", "Rome"),
    ],
    "what if another month": [
        T("Athens in March for 6 days", "March"),
        T("what if we go in July instead?", f"July {upcoming(7)}", "Weather in Athens in July", refuse=("in March",)),
    ],
    "unknown city with a suggestion": [
        T("I want to go to Parris", "I don't know **Parris**; did you mean **Paris**?", refuse=("°C",)),
    ],
    "unknown city then corrected": [
        T("Trip to Lisbn in May", "did you mean **Lisbon**"),
        T("Lisbon then", "### Your trip: Lisbon", "Weather in Lisbon in May"),
    ],
    "a country asks for a city": [T("I want to go to Japan", "**Japan** is a country", "Tokyo")],
    "exact dates in the past": [
        T("Barcelona from 10 to 14 March 2024", "in the past", f"10 March – 14 March {upcoming(3)}", "5 days"),
    ],
    "a past month": [T("Berlin in January 2020", "already passed", f"January {upcoming(1)}")],
    "exact future dates": [T(f"Lisbon from 3 to 9 June {upcoming(6) + 1}", "3 June – 9 June", "7 days")],
    "ambiguous month": [
        T("Porto in May or June", "Which month would you prefer", "**May** or **June**", "Side by side",
          "Porto in May", "Porto in June", refuse=("Weather in Porto",)),
        T("June", "Weather in Porto in June"),
    ],
    "a season is not a month": [
        T("Let's say Athens in spring", "Which month", "**March**, **April** or **May**"),
        T("April", f"April {upcoming(4)}", "Weather in Athens in April"),
    ],
    "two-city trip": [
        T("Paris and Rome in September for 8 days from London", "Paris → Rome", "Weather in Paris",
          "Weather in Rome", "London (LHR) → Paris (CDG)", "Rome (FCO) → London (LHR)", "All legs"),
    ],
    "add a second city": [
        T("Madrid in October", "### Your trip: Madrid"),
        T("Add Barcelona too", "Madrid → Barcelona", "Barcelona:"),
    ],
    "drop a city": [
        T("Vienna and Prague in December", "Vienna → Prague"),
        T("Drop Prague", "### Your trip: Vienna", refuse=("Prague",)),
    ],
    "replace one city of two": [
        T("Paris and Berlin in May", "Paris → Berlin"),
        T("Rome instead of Paris", "Rome → Berlin", refuse=("Paris",)),
    ],
    "budget in euros": [
        T("Amsterdam for 4 days in August, budget €1,500", "€1,500", "Total: about €", refuse=("$",)),
    ],
    "budget in pounds": [T("Edinburgh in July for 3 days, budget £800", "£800", "Total: about £")],
    "budget in yen": [T("Tokyo in April with a budget of 300,000 yen", "¥300,000", "Total: about ¥")],
    "budget too small": [
        T("Zurich for 7 days in July with 2 people, budget $1,000", "$1,000", "short", "cheaper hotels"),
    ],
    "budget raised by an amount": [
        T("Lisbon in May, budget $1,000", "$1,000"),
        T("Increase my budget by $500", "$1,500", "Lisbon"),
    ],
    "weather only": [
        T("Bangkok in August", "Bangkok"),
        T("What's the weather like?", "Weather in Bangkok in August", "rainy season", refuse=("Hotels",)),
    ],
    "weather question about another month keeps the trip": [
        T("Paris in March", "March"),
        T("What's the weather like in July?", "Weather in Paris in July"),
        T("And the budget?", f"March {upcoming(3)}"),
    ],
    "public holidays": [
        T("Dublin in December for 5 days", "Dublin"),
        T("Any public holidays then?", "Public holidays in Ireland", "Christmas"),
    ],
    "hotel class change": [
        T("Rome in May for 4 days", "mid-range"),
        T("What about luxury hotels?", "luxury", "Hotels", "Rome"),
    ],
    "flights need an origin": [
        T("Seoul in October", "Seoul"),
        T("How much are flights?", "where you'll fly from"),
        T("from Tokyo", "Tokyo (HND) → Seoul (ICN)"),
    ],
    "airport codes": [T("Fly from LHR to Dubai in March", "LHR", "DXB", "round trip")],
    "solo and relaxed": [
        T("Solo trip to Kyoto in November, relaxed pace, 6 days", "1 traveller", "6 days", "Kyoto"),
    ],
    "family to a city outside the table": [
        T("Family of 4 to Orlando in July", "Orlando", "4 travellers", "Weather in Orlando in July"),
    ],
    "preferences remembered in a new conversation": [
        T("My home airport is JFK and I always prefer luxury hotels", "JFK", "luxury", "remember"),
        NEW,
        T("Lisbon in May for 5 days", "New York (JFK) → Lisbon (LIS)", "luxury", refuse=("where you'll fly from",)),
    ],
    "currency remembered in a new conversation": [
        T("Please show prices in pounds", "remember"),
        NEW,
        T("Rome in June for 4 days", "Total: about £", refuse=("$",)),
    ],
    "thanks gets a short answer": [
        T("Rome in May for 4 days", "Hotels"),
        T("thanks!", "You're welcome", "### Your trip: Rome", refuse=("Hotels", "°C")),
    ],
    "a country mid-conversation keeps the trip": [
        T("Rome in May for 4 days", "Rome"),
        T("I want to go to France", "**France** is a country", "Paris", "### Your trip: Rome", refuse=("°C",)),
        T("Let's go to Nice then", "### Your trip: Nice", "Weather in Nice in May"),
    ],
    "a long-haul budget that cannot cover the flights": [
        T("Sydney in July for 5 days from London with 2 people, budget $1,500", "short", "flights alone",
          "London (LHR) → Sydney (SYD)", "likely one stop"),
    ],
    "trip facts do not leak into a new conversation": [
        T("Prague in May for 4 days", "Prague"),
        NEW,
        T("What's the weather like?", "Where would you like to go", refuse=("Prague",)),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_conversation(runner: TripPlannerRunner, name: str) -> None:
    user_id = f"table:{name.replace(' ', '-')}"
    for turn in CASES[name]:
        if turn.text == "/new":
            await runner.new_conversation(user_id)
            continue
        reply = await runner.ask(user_id, turn.text)
        assert reply.status == "answered", (turn.text, reply.text)
        for fact in turn.expect:
            assert fact in reply.text, f"{name}: {turn.text!r} should mention {fact!r}:\n{reply.text}"
        for fact in turn.refuse:
            assert fact not in reply.text, f"{name}: {turn.text!r} should not mention {fact!r}:\n{reply.text}"


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30


async def test_trip_facts_survive_a_restart(settings: Settings) -> None:
    first = TripPlannerRunner(settings)
    await first.start()
    await first.ask("restart:1", "Lisbon in May for 4 days, budget €900")
    await first.close()
    second = TripPlannerRunner(settings)
    await second.start()
    try:
        reply = await second.ask("restart:1", "What's the budget looking like?")
        assert "Lisbon" in reply.text and "€900" in reply.text and "4 days" in reply.text
    finally:
        await second.close()


async def test_facts_outlive_the_model_context_window(settings: Settings) -> None:
    """With the model seeing only the last 2 turns, facts from turn 1 still shape turn 6."""
    runner = TripPlannerRunner(replace(settings, model_context_invocations=2, recent_events=8))
    await runner.start()
    try:
        await runner.ask("window:1", "Copenhagen in August for 6 days with 2 people, budget $4,000")
        for _ in range(4):
            await runner.ask("window:1", "thanks")
        reply = await runner.ask("window:1", "What's the weather like?")
        assert "Weather in Copenhagen in August" in reply.text
        budget = await runner.ask("window:1", "and the budget?")
        assert "$4,000" in budget.text and "6 days" in budget.text and "2 travellers" in budget.text
    finally:
        await runner.close()


async def test_tool_calls_are_real_adk_events(runner: TripPlannerRunner) -> None:
    await runner.ask("events:1", "Paris and Rome in September for 8 days from London")
    record = await runner.sessions.current_conversation("events:1")
    assert record is not None
    session = await runner.sessions.session_service.get_session(
        app_name=runner.settings.app_name, user_id="events:1", session_id=record.session_id
    )
    assert session is not None
    called = {fc.name for ev in session.events for fc in ev.get_function_calls()}
    assert {"update_trip_plan", "get_typical_weather", "get_public_holidays", "flight_specialist",
            "hotel_specialist", "budget_specialist"} <= called
    assert session.state["trip"]["destinations"] == ["Paris", "Rome"]

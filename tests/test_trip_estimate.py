"""The latest whole-trip estimate is kept in session state by the budget tool's callback, and the
trip's card shows it (with whether the budget covers it); errors and other tools leave it alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from trip_planner.agents.trip_estimate import ESTIMATE_KEY, remember_estimate
from trip_planner.core.runner import TripPlannerRunner


def call(tool: str, response: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    result = remember_estimate(SimpleNamespace(name=tool), {}, SimpleNamespace(state=state), response)  # type: ignore[arg-type]
    assert result is None  # the model sees the tool's own response
    return state


def test_a_successful_estimate_is_kept_with_its_currency_and_budget_verdict() -> None:
    state = call("estimate_trip_budget", {"status": "ok", "total": 2140.4, "currency": "EUR", "budget_covers": False})
    assert state[ESTIMATE_KEY] == {"total": 2140, "currency": "EUR", "budget_covers": False}
    no_budget = call("estimate_trip_budget", {"status": "ok", "total": 900, "currency": "USD"})
    assert no_budget[ESTIMATE_KEY]["budget_covers"] is None


def test_the_same_estimate_again_is_not_written_again() -> None:
    same = {"total": 900, "currency": "USD", "budget_covers": None}
    state: dict[str, Any] = {ESTIMATE_KEY: dict(same)}

    class Recording(dict[str, Any]):
        writes = 0

        def __setitem__(self, key: str, value: Any) -> None:
            Recording.writes += 1
            super().__setitem__(key, value)

    recording = Recording(state)
    remember_estimate(SimpleNamespace(name="estimate_trip_budget"), {}, SimpleNamespace(state=recording),  # type: ignore[arg-type]
                      {"status": "ok", "total": 900, "currency": "USD"})
    assert Recording.writes == 0 and recording[ESTIMATE_KEY] == same


def test_errors_odd_totals_and_other_tools_change_nothing() -> None:
    assert call("estimate_trip_budget", {"status": "error", "error": "Tell me at least one destination."}) == {}
    assert call("estimate_trip_budget", {"status": "ok", "total": "lots"}) == {}
    assert call("estimate_trip_budget", "not a dict") == {}
    assert call("convert_currency", {"status": "ok", "total": 5, "currency": "EUR"}) == {}


async def test_a_planned_trip_with_a_budget_shows_the_estimate_on_its_card(runner: TripPlannerRunner) -> None:
    reply = await runner.ask("console:alice", "I want to go to Lisbon for 4 days in May with 2 adults, budget 3000 EUR")
    assert reply.card is not None and reply.card.destinations == ("Lisbon",)
    assert reply.card.estimate is not None and "EUR" in reply.card.estimate
    again = await runner.ask("console:alice", "Thanks!")
    assert again.card is None  # nothing changed: no card repeated

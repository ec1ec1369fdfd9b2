"""The trip at a glance: the facts a person sees on a card (Slack's Block Kit answer and App Home,
Discord's embed), platform-free.

Why a value of its own: the same facts appear in three places on two platforms, and each must show
the same thing for the same trip. It is read from the session state the planner's tools keep (`trip`,
and `trip_estimate` for the latest whole-trip estimate), never parsed out of the model's prose, so a
card cannot disagree with what the planner works from. Labels are user-facing words and live in
`replies`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.adk.sessions.base_session_service import GetSessionConfig

# The planner's trip facts (`update_trip_plan`) and its latest whole-trip estimate (`remember_estimate`).
from trip_planner.agents.tools import TRIP_KEY
from trip_planner.agents.trip_estimate import ESTIMATE_KEY
from trip_planner.core import replies
from trip_planner.core.session_manager import SessionManager


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True)
class TripCard:
    """What a card shows. Every field but `destinations` may be unknown yet (None)."""

    destinations: tuple[str, ...]
    origin: str | None = None
    dates: str | None = None
    travellers: str | None = None
    budget: str | None = None
    estimate: str | None = None
    hotel_class: str | None = None

    @property
    def title(self) -> str:
        """"Lisbon → Porto", or the words for a trip with no place yet."""
        return " → ".join(self.destinations) if self.destinations else replies.CARD_NO_PLACE

    def fields(self) -> list[tuple[str, str]]:
        """(label, value) pairs in display order, the unknown ones left out."""
        pairs = [
            (replies.CARD_FROM, self.origin),
            (replies.CARD_DATES, self.dates),
            (replies.CARD_TRAVELLERS, self.travellers),
            (replies.CARD_BUDGET, self.budget),
            (replies.CARD_ESTIMATE, self.estimate),
            (replies.CARD_HOTELS, self.hotel_class),
        ]
        return [(label, value) for label, value in pairs if value]

    def plain_text(self) -> str:
        """The card as one line of text: the fallback where blocks or embeds are not shown."""
        facts = ", ".join(f"{label}: {value}" for label, value in self.fields())
        return f"{self.title} ({facts})" if facts else self.title


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.0f} {currency}"


def _dates(trip: Mapping[str, Any]) -> str | None:
    days = trip.get("days")
    length = f", {days} days" if days else ""
    start, end = trip.get("start_date"), trip.get("end_date")
    try:
        if start and end:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            same_month = (first.year, first.month) == (last.year, last.month)
            head = f"{first.day}" if same_month else f"{first.day} {_MONTHS[first.month - 1]}"
            if first.year != last.year:
                head += f" {first.year}"
            return f"{head}–{last.day} {_MONTHS[last.month - 1]} {last.year}"
        if start:
            first = dt.date.fromisoformat(start)
            return f"from {first.day} {_MONTHS[first.month - 1]} {first.year}{length}"
    except (TypeError, ValueError):
        pass
    month, year = trip.get("month"), trip.get("year")
    if isinstance(month, int) and 1 <= month <= 12:
        return f"{_MONTHS[month - 1]}{f' {year}' if year else ''}{length}"
    return f"{days} days" if days else None


def _travellers(trip: Mapping[str, Any]) -> str | None:
    count = trip.get("travellers")
    if not isinstance(count, int) or count < 1:
        return None
    children = trip.get("children") if isinstance(trip.get("children"), int) else 0
    return replies.card_travellers(count, children or 0)


def card_from_state(state: Mapping[str, Any]) -> TripCard | None:
    """The card for a session's state, or None while the trip has no facts at all."""
    trip = state.get(TRIP_KEY) or {}
    if not isinstance(trip, Mapping) or not trip:
        return None
    budget = trip.get("budget") if isinstance(trip.get("budget"), Mapping) else None
    estimate = state.get(ESTIMATE_KEY) if isinstance(state.get(ESTIMATE_KEY), Mapping) else None
    estimate_text = None
    if estimate and isinstance(estimate.get("total"), (int, float)):
        estimate_text = replies.card_estimate(_money(estimate["total"], str(estimate.get("currency") or "USD")),
                                              estimate.get("budget_covers"))
    return TripCard(
        destinations=tuple(str(d) for d in trip.get("destinations") or ()),
        origin=str(trip["origin"]) if trip.get("origin") else None,
        dates=_dates(trip),
        travellers=_travellers(trip),
        budget=_money(float(budget["amount"]), str(budget.get("currency") or "USD")) if budget and budget.get("amount") else None,
        estimate=estimate_text,
        hotel_class=str(trip["hotel_class"]) if trip.get("hotel_class") else None,
    )


async def current_trip_card(sessions: SessionManager, user_id: str) -> TripCard | None:
    """The card of `user_id`'s open trip, or None when there is none or it has no facts yet.

    Reads the session with no events (only its state): a card must not cost a turn's load."""
    record = await sessions.current_conversation(user_id)
    if record is None:
        return None
    session = await sessions.session_service.get_session(
        app_name=sessions.app_name, user_id=user_id, session_id=record.session_id,
        config=GetSessionConfig(num_recent_events=0),
    )
    return card_from_state(session.state) if session is not None else None

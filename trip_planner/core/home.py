"""A person's home, platform-free: their open trip at a glance and how their recent trips ended.

Slack shows it on the App Home tab (`bots/slack/home_view.py`). Why in the core: what a trip is, and
how it ended, is the core's knowledge (the registry and the session state); an adapter only lays it
out. Each recent trip's name is read from its session's state without its events, so a Home costs a
few small reads, not a turn's load.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.adk.sessions.base_session_service import GetSessionConfig

from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import ConversationRecord
from trip_planner.core.trip_card import TripCard, card_from_state

RECENT_TRIPS = 5


@dataclass(frozen=True)
class PastTrip:
    """One of a person's trips: its card (None while it had no facts) and how it ended: "open",
    "satisfied", "unsatisfied" or "ended" (closed without a verdict)."""

    card: TripCard | None
    outcome: str
    started_at: float


@dataclass(frozen=True)
class Home:
    current: TripCard | None  # the open trip's card (None: no open trip, or no facts yet)
    has_open_trip: bool
    recent: tuple[PastTrip, ...]  # newest first, the open one included


def _outcome(record: ConversationRecord) -> str:
    if record.active:
        return "open"
    if record.feedback in ("satisfied", "unsatisfied"):
        return record.feedback
    return record.end_reason if record.end_reason in ("satisfied", "unsatisfied") else "ended"


async def home_of(sessions: SessionManager, user_id: str, *, recent: int = RECENT_TRIPS) -> Home:
    """`user_id`'s home: the open trip and the latest `recent` trips."""
    records = await sessions.store.recent_conversations(user_id=user_id, limit=recent)
    trips: list[PastTrip] = []
    current: TripCard | None = None
    for record in records:
        session = await sessions.session_service.get_session(
            app_name=sessions.app_name, user_id=user_id, session_id=record.session_id,
            config=GetSessionConfig(num_recent_events=0),
        )
        card = card_from_state(session.state) if session is not None else None
        if record.active:
            current = card
        trips.append(PastTrip(card=card, outcome=_outcome(record), started_at=record.created_at))
    return Home(current=current, has_open_trip=any(t.outcome == "open" for t in trips), recent=tuple(trips))

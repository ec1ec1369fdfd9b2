"""Per-person limits, so one person cannot take a worker (or a paid model's budget) for themselves.

At most `max_waiting` messages of one person wait for an answer; past it, or past `per_minute`
messages a minute, a message is stored as refused (so it is never answered twice, nor later) and
the message that reaches the limit gets one short reply; the rest of the burst get none, so a flood
does not become a flood of replies. `new_trips_per_hour` bounds "new trip" requests.
A process-wide cap (`max_turns`) bounds turns running at once; the others wait their turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select

from trip_planner.core import replies
from trip_planner.core.store import ConversationStore
from trip_planner.core.tables import conversations
from trip_planner.core.turn_statements import RECENT_OF_PERSON


@dataclass(frozen=True)
class Limits:
    max_waiting: int = 5
    per_minute: int = 20
    new_trips_per_hour: int = 10
    max_turns: int = 32


@dataclass(frozen=True)
class Refusal:
    text: str
    say_it: bool  # False inside a burst already told


async def check_message(store: ConversationStore, limits: Limits, *, user_id: str, message_id: str) -> Refusal | None:
    """Whether this person's new message is over a limit (one small indexed query)."""
    now = time.time()
    async with store.transaction() as conn:
        rows = (await conn.execute(RECENT_OF_PERSON, {"of_user": user_id, "since": now - 60.0})).all()
    mine = next((r for r in rows if r.message_id == message_id), None)
    if mine is None:
        return None
    before = [r for r in rows if r.received_at < mine.received_at or (r.received_at == mine.received_at and r.message_id < message_id)]
    pending = [r for r in before if r.status == "received"]
    # The burst: messages waiting, and those refused since the oldest of them. Only the message that
    # reaches the limit is answered; counting the whole burst (not "was the last one refused?")
    # keeps that true when several of a person's messages are checked at the same moment.
    burst = len(pending) + sum(1 for r in before if r.status == "refused" and pending and r.received_at > pending[0].received_at)
    last_minute = sum(1 for r in before if r.received_at >= now - 60.0)
    if len(pending) >= limits.max_waiting:
        return Refusal(text=replies.BUSY, say_it=burst == limits.max_waiting)
    if last_minute >= limits.per_minute:
        return Refusal(text=replies.SLOW_DOWN, say_it=last_minute == limits.per_minute)
    return None


async def trips_started_recently(store: ConversationStore, *, user_id: str, within_s: float = 3600.0) -> int:
    async with store.transaction() as conn:
        count = (
            await conn.execute(
                select(func.count()).where(conversations.c.user_id == user_id, conversations.c.created_at >= time.time() - within_s)
            )
        ).scalar_one()
    return int(count)

"""Read-only views of the conversation registry for operators: list, show, stats.

Plain SQL over our tables (the same on SQLite and PostgreSQL), aggregated in the database where the
volume is (stats by platform and outcome), so `stats` stays one query per table on a large database.

A conversation's state as shown: `active`, `ended`, or `expired` (ended for being idle, or still
marked active but idle past the idle timeout: expiry is written only when its person comes back).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from trip_planner.core.tables import conversations, inbound, queries

PLATFORMS = ("slack", "discord", "console")
STATES = ("active", "ended", "expired")
# How a conversation ended (or that it has not), for `stats`.
OUTCOMES = ("active", "satisfied", "unsatisfied", "ended", "expired", "new_session")


def platform_of(col: Any) -> ColumnElement[str]:
    """SQL: the platform named by a session user id's prefix ('other' for ids of no platform)."""
    return case(*((col.startswith(f"{p}:"), p) for p in PLATFORMS), else_="other")


def state_of(now: float, idle_timeout_s: float) -> ColumnElement[str]:
    c = conversations.c
    return case(
        (and_(c.status == "active", c.updated_at < now - idle_timeout_s), "expired"),
        (c.status == "active", "active"),
        (c.end_reason == "expired", "expired"),
        else_="ended",
    )


def outcome_of(now: float, idle_timeout_s: float) -> ColumnElement[str]:
    c = conversations.c
    return case(
        (and_(c.status == "active", c.updated_at < now - idle_timeout_s), "expired"),
        (c.status == "active", "active"),
        else_=func.coalesce(c.end_reason, "ended"),
    )


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: str
    user_id: str
    platform: str
    state: str
    end_reason: str | None
    feedback: str | None
    turns: int
    created_at: float
    updated_at: float
    ended_at: float | None


@dataclass(frozen=True)
class QueryRow:
    query_num: int
    query: str
    response: str
    created_at: float


def _columns(now: float, idle_timeout_s: float) -> list[Any]:
    c = conversations.c
    return [
        c.conversation_id,
        c.user_id,
        platform_of(c.user_id).label("platform"),
        state_of(now, idle_timeout_s).label("state"),
        c.end_reason,
        c.feedback,
        c.query_count.label("turns"),
        c.created_at,
        c.updated_at,
        c.ended_at,
    ]


def _row(r: Any) -> ConversationRow:
    return ConversationRow(**dict(r._mapping))


def user_condition(user: str) -> ColumnElement[bool]:
    """An exact session user id, or a pattern where `*` matches anything ('slack:T1:*:U1')."""
    if "*" not in user:
        return conversations.c.user_id == user
    escaped = user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return conversations.c.user_id.like(escaped, escape="\\")


async def list_conversations(
    engine: AsyncEngine,
    *,
    idle_timeout_s: float,
    platform: str | None = None,
    state: str | None = None,
    user: str | None = None,
    since: float | None = None,
    limit: int = 50,
    now: float | None = None,
) -> list[ConversationRow]:
    """Conversations started since `since`, newest first, filtered."""
    now = time.time() if now is None else now
    conditions: list[ColumnElement[bool]] = []
    if platform:
        conditions.append(platform_of(conversations.c.user_id) == platform)
    if state:
        conditions.append(state_of(now, idle_timeout_s) == state)
    if user:
        conditions.append(user_condition(user))
    if since is not None:
        conditions.append(conversations.c.created_at >= since)
    statement = (
        select(*_columns(now, idle_timeout_s))
        .where(*conditions)
        .order_by(conversations.c.created_at.desc(), conversations.c.conversation_id.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [_row(r) for r in (await conn.execute(statement)).all()]


async def find_conversations(engine: AsyncEngine, key: str, *, idle_timeout_s: float, now: float | None = None) -> list[ConversationRow]:
    """The conversation with id `key`, else every conversation of user id `key`, newest first."""
    now = time.time() if now is None else now
    base = select(*_columns(now, idle_timeout_s))
    async with engine.connect() as conn:
        rows = (await conn.execute(base.where(conversations.c.conversation_id == key))).all()
        if not rows:
            rows = (
                await conn.execute(base.where(conversations.c.user_id == key).order_by(conversations.c.created_at.desc()))
            ).all()
    return [_row(r) for r in rows]


async def queries_of(engine: AsyncEngine, conversation_ids: Sequence[str]) -> dict[str, list[QueryRow]]:
    """Each conversation's queries and answers, in order."""
    found: dict[str, list[QueryRow]] = {cid: [] for cid in conversation_ids}
    if not conversation_ids:
        return found
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(queries.c.conversation_id, queries.c.query_num, queries.c.query, queries.c.response, queries.c.created_at)
                .where(queries.c.conversation_id.in_(list(conversation_ids)))
                .order_by(queries.c.conversation_id, queries.c.query_num)
            )
        ).all()
    for r in rows:
        found[r.conversation_id].append(QueryRow(r.query_num, r.query, r.response, r.created_at))
    return found


# -- stats ------------------------------------------------------------------------------------------


@dataclass
class PlatformStats:
    platform: str
    conversations: int = 0
    turns: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    satisfied: int = 0  # conversations whose feedback is satisfied
    unsatisfied: int = 0
    failed_turns: int = 0  # from the inbound log (see Stats.note)
    answered_messages: int = 0
    latencies_s: list[float] = field(default_factory=list, repr=False)

    @property
    def turns_per_conversation(self) -> float | None:
        return self.turns / self.conversations if self.conversations else None

    @property
    def satisfaction_rate(self) -> float | None:
        """Satisfied among conversations with any feedback (None without feedback)."""
        rated = self.satisfied + self.unsatisfied
        return self.satisfied / rated if rated else None

    @property
    def median_latency_s(self) -> float | None:
        return statistics.median(self.latencies_s) if self.latencies_s else None


@dataclass
class Stats:
    since: float | None
    platforms: list[PlatformStats]
    notes: list[str] = field(default_factory=list)


LATENCY_NOTE = (
    "Failed turns and the median time to answer (message received to answer ready, queueing included, "
    "posting excluded) come from the inbound log, which keeps a week: older periods show only what is left. "
    "Per-turn model latency is not stored; the metrics endpoint's histogram is the place for it."
)


async def stats(engine: AsyncEngine, *, idle_timeout_s: float, since: float | None = None, now: float | None = None) -> Stats:
    now = time.time() if now is None else now
    by_platform: dict[str, PlatformStats] = {}

    def of(platform: str) -> PlatformStats:
        return by_platform.setdefault(platform, PlatformStats(platform))

    c, i = conversations.c, inbound.c
    platform = platform_of(c.user_id).label("platform")
    outcome = outcome_of(now, idle_timeout_s).label("outcome")
    conversation_stats = select(platform, outcome, c.feedback, func.count().label("n"), func.coalesce(func.sum(c.query_count), 0).label("turns"))
    if since is not None:
        conversation_stats = conversation_stats.where(c.created_at >= since)
    conversation_stats = conversation_stats.group_by(platform, outcome, c.feedback)

    in_platform = platform_of(i.user_id).label("platform")
    turn_window = [i.received_at >= since] if since is not None else []
    inbound_stats = (
        select(in_platform, i.status, func.count().label("n"))
        .where(i.conversation_id.is_not(None), *turn_window)
        .group_by(in_platform, i.status)
    )
    latency = (
        select(in_platform, (i.answered_at - i.received_at).label("latency"))
        .where(i.conversation_id.is_not(None), i.answered_at.is_not(None), i.status.in_(("answered", "failed")), *turn_window)
    )
    async with engine.connect() as conn:
        for r in (await conn.execute(conversation_stats)).all():
            s = of(r.platform)
            s.conversations += r.n
            s.turns += int(r.turns)
            s.outcomes[r.outcome] = s.outcomes.get(r.outcome, 0) + r.n
            if r.feedback == "satisfied":
                s.satisfied += r.n
            elif r.feedback == "unsatisfied":
                s.unsatisfied += r.n
        for r in (await conn.execute(inbound_stats)).all():
            s = of(r.platform)
            if r.status == "failed":
                s.failed_turns += r.n
            elif r.status == "answered":
                s.answered_messages += r.n
        for r in (await conn.execute(latency)).all():
            of(r.platform).latencies_s.append(max(float(r.latency), 0.0))
    ordered = sorted(by_platform.values(), key=lambda s: (PLATFORMS + ("other",)).index(s.platform))
    return Stats(since=since, platforms=ordered, notes=[LATENCY_NOTE])

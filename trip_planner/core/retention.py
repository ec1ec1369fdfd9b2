"""Retention: old conversations do not stay in the database forever.

A conversation that ended (or expired: idle past the idle timeout) longer ago than
`TRIP_PLANNER_RETENTION_DAYS` is deleted with its queries, message refs and answered inbound
messages, and with its ADK session and events. A person none of whose conversations remain loses
their `user:` state too (they have not talked to the bot for the whole retention period). Thread
subscriptions older than the retention go as well.

`purge` does it once (the operator's `sessions purge`); `run_retention` does it daily in a
long-running process, one worker at a time: a lease row (`tp_turn_leases`, key `RETENTION_LEASE`)
held for a day says "purged today". Any worker may take it once it runs out, or at once when its
holder stopped (so a redeploy may purge again: harmless, the purge is idempotent).

Each batch of conversations is deleted in its own transaction: a purge of years of history never
holds one huge transaction, and each conversation goes whole or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trip_planner.config import Settings
from trip_planner.core import adk_tables
from trip_planner.core.erasure import chunks, delete_counted
from trip_planner.core.tables import conversations, inbound, message_refs, queries, subscriptions
from trip_planner.core.workers import Workers

log = logging.getLogger(__name__)

DAY_S = 86400.0
RETENTION_LEASE = "tp:retention"
CHECK_EVERY_S = 3600.0  # how often a process asks whether today's purge is due
FIRST_CHECK_S = 60.0  # after start-up, so a starting fleet does not purge before it serves
BATCH = 200


@dataclass
class Purged:
    """What one purge removed."""

    conversation_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted

    @property
    def conversations(self) -> int:
        return len(self.conversation_ids)


def purgeable(*, cutoff: float, idle_cutoff: float) -> ColumnElement[bool]:
    """SQL: ended before `cutoff`, or still marked active but idle since before both cutoffs (it
    expired; expiry is only written when its person comes back)."""
    last = func.coalesce(conversations.c.ended_at, conversations.c.updated_at)
    return or_(
        and_(conversations.c.status != "active", last < cutoff),
        and_(conversations.c.status == "active", conversations.c.updated_at < min(cutoff, idle_cutoff)),
    )


def _condition(older_than_s: float, idle_timeout_s: float, now: float | None) -> ColumnElement[bool]:
    now = time.time() if now is None else now
    return purgeable(cutoff=now - older_than_s, idle_cutoff=now - idle_timeout_s)


async def count_purgeable(engine: AsyncEngine, *, older_than_s: float, idle_timeout_s: float, now: float | None = None) -> int:
    """How many conversations `purge` would delete now (for the operator's confirmation)."""
    async with engine.connect() as conn:
        if conversations.name not in await adk_tables.existing_tables(conn):
            return 0
        count = await conn.execute(select(func.count()).where(_condition(older_than_s, idle_timeout_s, now)))
        return int(count.scalar_one())


async def purge(
    engine: AsyncEngine,
    *,
    app_name: str,
    older_than_s: float,
    idle_timeout_s: float,
    now: float | None = None,
    batch: int = BATCH,
) -> Purged:
    """Delete conversations past the retention, batch by batch, with their ADK sessions and events."""
    condition = _condition(older_than_s, idle_timeout_s, now)
    cutoff = (time.time() if now is None else now) - older_than_s
    purged = Purged()
    async with engine.connect() as conn:
        if conversations.name not in await adk_tables.existing_tables(conn):
            return purged
    while True:
        async with engine.begin() as conn:
            present = await adk_tables.existing_tables(conn)
            picked = (
                await conn.execute(
                    select(conversations.c.conversation_id, conversations.c.user_id, conversations.c.session_id)
                    .where(condition)
                    .order_by(conversations.c.updated_at)
                    .limit(batch)
                )
            ).all()
            if not picked:
                break
            await _delete_batch(conn, present, [tuple(r) for r in picked], app_name, purged.rows)
        purged.conversation_ids.extend(r[0] for r in picked)
    async with engine.begin() as conn:
        await delete_counted(conn, purged.rows, subscriptions.name, delete(subscriptions).where(subscriptions.c.created_at < cutoff))
    log.info("Retention: purged %d conversations (%d rows)", purged.conversations, sum(purged.rows.values()))
    return purged


async def _delete_batch(
    conn: AsyncConnection, present: set[str], picked: list[tuple[str, str, str]], app_name: str, rows: dict[str, int]
) -> None:
    ids = [conversation_id for conversation_id, _user, _session in picked]
    for part in chunks(ids):
        await delete_counted(conn, rows, queries.name, delete(queries).where(queries.c.conversation_id.in_(part)))
        await delete_counted(conn, rows, message_refs.name, delete(message_refs).where(message_refs.c.conversation_id.in_(part)))
        # An unanswered message is recovery's, never retention's.
        await delete_counted(
            conn, rows, inbound.name, delete(inbound).where(inbound.c.conversation_id.in_(part), inbound.c.status != "received")
        )
        await delete_counted(conn, rows, conversations.name, delete(conversations).where(conversations.c.conversation_id.in_(part)))
    keys = [(user, session) for _conv, user, session in picked]
    for start in range(0, len(keys), 200):
        part_keys = keys[start : start + 200]
        for tbl, id_col in ((adk_tables.events, adk_tables.events.c.session_id), (adk_tables.sessions, adk_tables.sessions.c.id)):
            if tbl.name in present:
                await delete_counted(
                    conn,
                    rows,
                    tbl.name,
                    delete(tbl).where(tbl.c.app_name == app_name, tuple_(tbl.c.user_id, id_col).in_(part_keys)),
                )
    if adk_tables.user_states.name not in present:
        return
    users = sorted({user for _conv, user, _session in picked})
    remaining = set(
        (await conn.execute(select(conversations.c.user_id).distinct().where(conversations.c.user_id.in_(users)))).scalars()
    )
    gone = [u for u in users if u not in remaining]
    for part in chunks(gone):
        await delete_counted(
            conn,
            rows,
            adk_tables.user_states.name,
            delete(adk_tables.user_states).where(
                adk_tables.user_states.c.app_name == app_name, adk_tables.user_states.c.user_id.in_(part)
            ),
        )


async def purge_if_due(workers: Workers, engine: AsyncEngine, *, app_name: str, retention_days: int, idle_timeout_s: float) -> Purged | None:
    """Purge when no worker has today: taking the day's lease is the "one worker at a time" rule.
    None when another worker holds it (or this one already purged within the day)."""
    if not await workers.try_lease(key=RETENTION_LEASE, lease_s=DAY_S):
        return None
    return await purge(engine, app_name=app_name, older_than_s=retention_days * DAY_S, idle_timeout_s=idle_timeout_s)


async def run_retention(
    workers: Workers,
    engine: AsyncEngine,
    *,
    app_name: str,
    retention_days: int,
    idle_timeout_s: float,
    check_every_s: float = CHECK_EVERY_S,
    first_check_s: float = FIRST_CHECK_S,
) -> None:
    """Until cancelled: every `check_every_s`, purge if today's purge is due (see `purge_if_due`).
    A failed purge is logged and tried again at the next check."""
    await asyncio.sleep(first_check_s)
    while True:
        try:
            await purge_if_due(workers, engine, app_name=app_name, retention_days=retention_days, idle_timeout_s=idle_timeout_s)
        except Exception:
            log.exception("Retention purge failed; trying again in %.0f s", check_every_s)
        await asyncio.sleep(check_every_s)


def start(workers: Workers, engine: AsyncEngine, settings: Settings) -> asyncio.Task[None] | None:
    """The runner's daily retention task, or None when retention is off (`retention_days` 0)."""
    if settings.retention_days <= 0:
        return None
    return asyncio.create_task(
        run_retention(
            workers,
            engine,
            app_name=settings.app_name,
            retention_days=settings.retention_days,
            idle_timeout_s=settings.conversation_idle_timeout_s,
            first_check_s=FIRST_CHECK_S,
        ),
        name="retention",
    )


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

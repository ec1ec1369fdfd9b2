"""Erasure: "delete my data", for a person or an operator, in one transaction.

Everything that names a session user id goes: our registry (conversations and their queries,
inbound messages, message refs, thread subscriptions, turn leases) and ADK's rows of the app
(sessions, their events, `user:` state). One transaction, so a crash or a failure half-way leaves the
person's data whole rather than half-erased, and a retried erasure finishes the job.

The caller gets the erased conversation ids back: they name the person's threads in the tracing
backend (Opik), which lives outside this database and is the caller's to delete.

A person is often several session user ids (one per Slack channel, one per Discord DM and server
channel): `find_user_ids` turns a pattern such as `slack:T1:*:U1` into the ids stored for them.
The patterns themselves are the adapters' business (their identity modules); the core takes them as
data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Delete, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trip_planner.core import adk_tables
from trip_planner.core.locks import ConversationLocks
from trip_planner.core.tables import conversations, inbound, message_refs, queries, subscriptions, turn_leases

log = logging.getLogger(__name__)

# Bound the IN lists: PostgreSQL (asyncpg) takes at most 32,767 parameters per statement.
CHUNK = 500


@dataclass(frozen=True)
class Erased:
    """What one erasure removed."""

    user_ids: tuple[str, ...]
    conversation_ids: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


async def delete_counted(conn: AsyncConnection, rows: dict[str, int], name: str, statement: Delete) -> None:
    result = await conn.execute(statement)
    rows[name] = rows.get(name, 0) + int(result.rowcount or 0)


async def forget(engine: AsyncEngine, user_ids: Iterable[str], *, app_name: str) -> Erased:
    """Delete every row naming `user_ids`, ours and ADK's (of `app_name`), in one transaction.

    Callers that run beside live workers hold the people's conversation locks (`forget_locked`), so
    no turn writes to a conversation while it is erased.
    """
    ids = sorted({u for u in user_ids if u})
    rows: dict[str, int] = {}
    if not ids:
        return Erased(user_ids=(), conversation_ids=(), rows=rows)
    async with engine.begin() as conn:
        present = await adk_tables.existing_tables(conn)
        conversation_ids: list[str] = []
        if conversations.name in present:
            for part in chunks(ids):
                found = await conn.execute(select(conversations.c.conversation_id).where(conversations.c.user_id.in_(part)))
                conversation_ids.extend(found.scalars())
        conversation_ids.sort()
        await _delete_ours(conn, present, ids, conversation_ids, rows)
        await _delete_adk(conn, present, ids, app_name, rows)
    erased = Erased(user_ids=tuple(ids), conversation_ids=tuple(conversation_ids), rows=rows)
    # Counts only: the ids themselves are personal data.
    log.info("Erased %d user ids: %d conversations, %d rows", len(ids), len(conversation_ids), erased.total_rows)
    return erased


async def _delete_ours(
    conn: AsyncConnection, present: set[str], ids: list[str], conversation_ids: list[str], rows: dict[str, int]
) -> None:
    # Children first: a query row references its conversation.
    if queries.name in present:
        for part in chunks(conversation_ids):
            await delete_counted(conn, rows, queries.name, delete(queries).where(queries.c.conversation_id.in_(part)))
    by_user_or_conversation: list[tuple[Any, Any, Any]] = [
        (message_refs, message_refs.c.user_id, message_refs.c.conversation_id),
        (inbound, inbound.c.user_id, inbound.c.conversation_id),
    ]
    for tbl, user_col, conv_col in by_user_or_conversation:
        if tbl.name not in present:
            continue
        for part in chunks(ids):
            await delete_counted(conn, rows, tbl.name, delete(tbl).where(user_col.in_(part)))
        for part in chunks(conversation_ids):
            await delete_counted(conn, rows, tbl.name, delete(tbl).where(conv_col.in_(part)))
    by_user: list[tuple[Any, Any]] = [
        (subscriptions, subscriptions.c.user_id),
        (turn_leases, turn_leases.c.lease_key),  # a conversation's lease is keyed by its user id
        (conversations, conversations.c.user_id),
    ]
    for tbl, user_col in by_user:
        if tbl.name not in present:
            continue
        for part in chunks(ids):
            await delete_counted(conn, rows, tbl.name, delete(tbl).where(user_col.in_(part)))


async def _delete_adk(conn: AsyncConnection, present: set[str], ids: list[str], app_name: str, rows: dict[str, int]) -> None:
    # Events first: they reference their session (with ON DELETE CASCADE on newer schemas only).
    for tbl in (adk_tables.events, adk_tables.sessions, adk_tables.user_states):
        if tbl.name not in present:
            continue
        for part in chunks(ids):
            await delete_counted(
                conn, rows, tbl.name, delete(tbl).where(tbl.c.app_name == app_name, tbl.c.user_id.in_(part))
            )


async def forget_locked(locks: ConversationLocks, engine: AsyncEngine, user_ids: Iterable[str], *, app_name: str) -> Erased:
    """`forget` while holding each person's conversation lock (the one every turn, reaction and
    `new` takes), so a turn in flight finishes before its conversation is erased, and none starts
    during the erasure. Locks are taken in sorted order; a turn holds one key only, so no deadlock."""
    ids = sorted({u for u in user_ids if u})
    async with AsyncExitStack() as stack:
        for user_id in ids:
            await stack.enter_async_context(locks.hold(user_id))
        return await forget(engine, ids, app_name=app_name)


# -- finding a person's session user ids ---------------------------------------------------------


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`*` stands for one colon-free field of a session user id ("slack:T1:*:U1")."""
    return re.compile(":".join("[^:]+" if part == "*" else re.escape(part) for part in pattern.split(":")))


def _match(col: Any, pattern: str) -> ColumnElement[bool]:
    """A cheap SQL prefilter (the literal text before the first `*`); the regex decides."""
    prefix = pattern.split("*", 1)[0]
    if "*" not in pattern:
        return col == pattern  # type: ignore[no-any-return]
    return col.startswith(prefix, autoescape=True)  # type: ignore[no-any-return]


async def find_user_ids(engine: AsyncEngine, patterns: Iterable[str], *, app_name: str) -> list[str]:
    """Every session user id stored anywhere (ours or ADK's of `app_name`) matching one of
    `patterns`, sorted. A person who only ever had refused messages, or only `user:` state, is found
    too."""
    wanted = [p for p in patterns if p]
    if not wanted:
        return []
    regexes = [pattern_regex(p) for p in wanted]
    sources: list[tuple[str, Any, ColumnElement[bool] | None]] = [
        (conversations.name, conversations.c.user_id, None),
        (inbound.name, inbound.c.user_id, None),
        (subscriptions.name, subscriptions.c.user_id, None),
        (message_refs.name, message_refs.c.user_id, None),
        (turn_leases.name, turn_leases.c.lease_key, None),
        ("sessions", adk_tables.sessions.c.user_id, adk_tables.sessions.c.app_name == app_name),
        ("user_states", adk_tables.user_states.c.user_id, adk_tables.user_states.c.app_name == app_name),
    ]
    found: set[str] = set()
    async with engine.connect() as conn:
        present = await adk_tables.existing_tables(conn)
        for name, col, scope in sources:
            if name not in present:
                continue
            condition = or_(*(_match(col, p) for p in wanted))
            statement = select(col).distinct().where(and_(condition, scope) if scope is not None else condition)
            for value in (await conn.execute(statement)).scalars():
                if any(r.fullmatch(value) for r in regexes):
                    found.add(value)
    return sorted(found)

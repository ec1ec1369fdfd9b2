"""The operator's verbs that change data: end, forget, purge.

The operator's process joins the fleet as a worker for the length of the command (a heartbeat row),
so it takes a person's conversation lock exactly as a bot process does: a turn in flight finishes
first, and no turn starts while the operator ends or erases that person's conversation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from trip_planner.config import Settings
from trip_planner.core import erasure, retention
from trip_planner.core.locks import ConversationLocks
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import ConversationRecord
from trip_planner.core.tracing import NullTracer, Tracer, build_tracer
from trip_planner.core.workers import Workers

log = logging.getLogger(__name__)


@dataclass
class Operator:
    """An open database, and this command as a worker when it changes conversations."""

    settings: Settings
    sessions: SessionManager
    workers: Workers
    locks: ConversationLocks

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.engine


@asynccontextmanager
async def operator(settings: Settings, *, writes: bool = False) -> AsyncIterator[Operator]:
    """Open the database (creating the tables if it is new). With `writes`, register as a worker and
    report endings to the tracing backend, as a bot process would."""
    tracer: Tracer = build_tracer(settings) if writes else NullTracer()
    sessions = SessionManager(
        settings.database_url,
        app_name=settings.app_name,
        idle_timeout_s=settings.conversation_idle_timeout_s,
        recent_events=settings.recent_events,
        tracer=tracer,
    )
    try:
        await sessions.start()
        workers = Workers(sessions.store)
        if writes:
            await workers.register()
        try:
            yield Operator(settings, sessions, workers, ConversationLocks(workers, lease_s=settings.turn_timeout_s + 60.0))
        finally:
            if writes:
                await workers.leave()
                await asyncio.to_thread(tracer.flush, 5.0)
    finally:
        await sessions.close()


async def end(op: Operator, user_id: str, *, feedback: str | None) -> ConversationRecord | None:
    """End the person's current conversation (None when there is none, or it had already expired:
    then it is marked expired, as the person's next message would)."""
    async with op.locks.hold(user_id):
        if await op.sessions.current_conversation(user_id) is None:
            return None
        return await op.sessions.end_conversation(user_id, feedback)


async def resolve_people(op: Operator, *, user_ids: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The session user ids given, plus every stored id matching the platform identity patterns."""
    found = await erasure.find_user_ids(op.engine, patterns, app_name=op.settings.app_name)
    return sorted(set(user_ids) | set(found))


async def forget(op: Operator, user_ids: Iterable[str]) -> erasure.Erased:
    return await erasure.forget_locked(op.locks, op.engine, user_ids, app_name=op.settings.app_name)


async def delete_traces(op: Operator, conversation_ids: Iterable[str]) -> bool | None:
    """Delete the erased conversations' threads in Opik (None: tracing is not configured here)."""
    ids = list(conversation_ids)
    tracer = op.sessions.tracer
    if not ids or isinstance(tracer, NullTracer):
        return None
    return await tracer.delete_threads(ids)


async def count_purgeable(op: Operator, *, days: float) -> int:
    return await retention.count_purgeable(
        op.engine, older_than_s=days * retention.DAY_S, idle_timeout_s=op.settings.conversation_idle_timeout_s
    )


async def purge(op: Operator, *, days: float) -> retention.Purged:
    return await retention.purge(
        op.engine,
        app_name=op.settings.app_name,
        older_than_s=days * retention.DAY_S,
        idle_timeout_s=op.settings.conversation_idle_timeout_s,
    )

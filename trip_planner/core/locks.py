"""One turn at a time per conversation key, in arrival order, with nothing left behind.

`KeyedLock` hands out an `asyncio.Lock` per key (asyncio locks wake waiters first-in, first-out, so
turns run in arrival order) and drops it when its last holder or waiter leaves, so memory does not grow
with the number of users ever seen.

`ConversationLocks` adds, on PostgreSQL, a session-level advisory lock on the same key, so two worker
processes on one database also take turns instead of racing into ADK's StaleSessionError.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class KeyedLock:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            remaining = self._users[key] - 1
            if remaining:
                self._users[key] = remaining
            else:
                del self._users[key]
                del self._locks[key]


class ConversationLocks:
    """The lock every path that writes a conversation takes (turns, reactions, `new`, `end`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._local = KeyedLock()
        self._engine = engine
        self._cross_process = engine.dialect.name == "postgresql"

    def __len__(self) -> int:
        return len(self._local)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            if not self._cross_process:
                yield
                return
            # Held on its own connection for the whole turn; released explicitly and, should the
            # process die, by PostgreSQL when the connection closes.
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": key})
                await conn.commit()
                try:
                    yield
                finally:
                    await asyncio.shield(self._unlock(conn, key))

    @staticmethod
    async def _unlock(conn: AsyncConnection, key: str) -> None:
        await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
        await conn.commit()

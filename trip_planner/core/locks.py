"""One turn at a time per conversation key, in arrival order, with nothing left behind.

`KeyedLock` queues holders per key in the order they *reserved* a place, which happens synchronously
when a message arrives, before any I/O. So turns run in arrival order even though persisting each
message first is an await that may finish out of order. A key's queue is dropped when it empties,
so memory does not grow with the number of users ever seen.

`ConversationLocks` adds a lease in the database on the same key, so two worker processes on one
database also take turns instead of racing into ADK's StaleSessionError.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType

from trip_planner.core.workers import Workers


class Ticket:
    """A place in one key's queue; `async with ticket:` waits for its turn and gives it up after."""

    def __init__(self, owner: KeyedLock, key: str) -> None:
        self._owner = owner
        self._key = key
        self._turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __aenter__(self) -> None:
        try:
            await self._turn
        except BaseException:
            self.release()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        """Give up the place (held or still waiting); safe to call more than once."""
        self._owner._leave(self._key, self)


class KeyedLock:
    def __init__(self) -> None:
        self._queues: dict[str, deque[Ticket]] = {}

    def __len__(self) -> int:
        return len(self._queues)

    def queued(self) -> dict[str, int]:
        """Places held or waiting, per key (for the queued-turns gauge)."""
        return {key: len(queue) for key, queue in self._queues.items()}

    def reserve(self, key: str) -> Ticket:
        """Take a place in the queue now (no await), to be entered later with `async with`."""
        ticket = Ticket(self, key)
        queue = self._queues.setdefault(key, deque())
        queue.append(ticket)
        if len(queue) == 1:
            ticket._turn.set_result(None)
        return ticket

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self.reserve(key):
            yield

    def _leave(self, key: str, ticket: Ticket) -> None:
        queue = self._queues.get(key)
        if queue is None or ticket not in queue:
            return
        was_head = queue[0] is ticket
        queue.remove(ticket)
        if not queue:
            del self._queues[key]
        elif was_head and not queue[0]._turn.done():
            queue[0]._turn.set_result(None)


class ConversationLocks:
    """The lock every path that writes a conversation takes (turns, reactions, `new`, `end`).

    In this process, a FIFO queue per key. Across processes on one database, a lease row per key
    (`tp_turn_leases`) naming the worker that holds it: short transactions only, so no connection is
    held for the length of a turn (holding one per turn, as a PostgreSQL advisory lock would,
    exhausts the pool under load), and it works on SQLite too. A lease whose worker died is taken
    over at once (see `workers`); `lease_s` is only the backstop.

    `ready`, when given, is asked once the lease is held: False means "not yet" (another worker
    holds an earlier message of this person), and the lease is given back for a moment while this
    process keeps its place in its own queue.
    """

    def __init__(self, workers: Workers, *, lease_s: float) -> None:
        self._local = KeyedLock()
        self._workers = workers
        self._lease_s = lease_s

    def __len__(self) -> int:
        return len(self._local)

    def queued(self) -> dict[str, int]:
        return self._local.queued()

    def reserve(self, key: str) -> Ticket:
        return self._local.reserve(key)

    @asynccontextmanager
    async def hold(
        self, key: str, ticket: Ticket | None = None, *, ready: Callable[[], Awaitable[bool]] | None = None
    ) -> AsyncIterator[None]:
        async with ticket or self._local.reserve(key):
            await self._lease(key)
            try:
                wait = 0.05
                while ready is not None and not await ready():
                    await self._workers.release_lease(key=key)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, 0.5)
                    await self._lease(key)
                yield
            finally:
                await asyncio.shield(self._workers.release_lease(key=key))

    async def _lease(self, key: str) -> None:
        wait = 0.01
        while not await self._workers.try_lease(key=key, lease_s=self._lease_s):
            # Another process is in a turn for this key: wait for it, backing off to a few polls a second.
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.25)

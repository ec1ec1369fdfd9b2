"""A connection pool that serves urgent checkouts first: storing a message before acknowledging it.

Why: a platform waits for our acknowledgement (Slack retries after 3 s), and we acknowledge only once
the message is stored. Under load every connection is busy with turns (ADK's session writes and our
own), so an insert waiting its turn in the pool's FIFO queue waited behind dozens of turn
transactions: on SQLite, whose single connection serialises everything, the acknowledgement's p99
reached a second at 50 events in flight. An urgent checkout here goes to the front of the queue, so
it waits for at most the transaction holding the connection now; turns lose nothing but that place.

Urgency is a context variable (set with `urgent()` around the transaction), so nothing between the
store and the pool has to pass it along; SQLAlchemy awaits the pool's queue in the caller's task,
where the variable is visible. The pool is SQLAlchemy's own asyncio queue pool with one method of
its queue changed (`get`, the stdlib's, appending urgent waiters on the left).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import memoized_property
from sqlalchemy.util.queue import AsyncAdaptedQueue

_URGENT: ContextVar[bool] = ContextVar("trip_planner_urgent_checkout", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Connections checked out inside this block jump the pool's queue."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


class _UrgentFirstQueue(asyncio.Queue[Any]):
    """`asyncio.Queue` whose waiting getters in an `urgent()` block are served before the others."""

    async def get(self) -> Any:
        getters = self._getters  # type: ignore[attr-defined]
        while self.empty():
            getter = self._get_loop().create_future()  # type: ignore[attr-defined]
            if _URGENT.get():
                getters.appendleft(getter)
            else:
                getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                try:
                    getters.remove(getter)
                except ValueError:
                    pass  # already woken and removed by put_nowait
                if not self.empty() and not getter.cancelled():
                    self._wakeup_next(getters)  # type: ignore[attr-defined]  # pass the item on
                raise
        return self.get_nowait()


class _UrgentFirstAdaptedQueue(AsyncAdaptedQueue[Any]):
    @memoized_property
    def _queue(self) -> asyncio.Queue[Any]:  # created on first use, in the running loop
        return _UrgentFirstQueue(maxsize=self.maxsize)


class UrgentFirstPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, serving `urgent()` checkouts first."""

    _queue_class = _UrgentFirstAdaptedQueue  # type: ignore[assignment]

"""Answers being posted right now, per session user id, so a reaction can wait for them.

An answer becomes visible on the platform before the adapter has recorded which platform message
carries it (the record needs the message id the platform returns). A quick thumbs-up in that gap
would find no record and be ignored. The adapter therefore posts inside `DeliveryGate.delivering`,
and `TripPlannerRunner.react` waits for the user's deliveries in this process to finish first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DeliveryGate:
    def __init__(self) -> None:
        self._open: dict[str, set[asyncio.Event]] = {}

    def __len__(self) -> int:
        return len(self._open)

    @asynccontextmanager
    async def delivering(self, user_id: str) -> AsyncIterator[None]:
        done = asyncio.Event()
        self._open.setdefault(user_id, set()).add(done)
        try:
            yield
        finally:
            done.set()
            pending = self._open.get(user_id)
            if pending is not None:
                pending.discard(done)
                if not pending:
                    del self._open[user_id]

    async def settled(self, user_id: str, *, timeout_s: float) -> bool:
        """Wait until the user's deliveries under way now have finished; False if `timeout_s` passed."""
        pending = list(self._open.get(user_id, ()))
        if not pending:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in pending)), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

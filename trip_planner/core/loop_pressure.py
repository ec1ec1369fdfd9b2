"""Starting new turns only while the event loop keeps time, so storing and acknowledging stay quick.

Why: one process takes the platform's deliveries and answers them on one event loop. A delivery is
acknowledged once its message is stored, which takes several trips round the loop (read the
request, insert, respond), and each trip waits for every other ready callback. Under a burst the
loop filled with turns starting (each runs the planner's CPU work between model calls), and on
PostgreSQL, where nothing else held turns back, the acknowledgement's p50 was eight times a bare
Bolt app's. (On SQLite the single connection, which serves storing first, already held them back.)

So a turn about to start asks `calm()` first. When the loop is on time, it goes at once, after one
look at how long a trip round the loop takes now. When the loop runs late, the turn waits in a
queue and one watcher checks the loop every few milliseconds, letting one waiting turn start per
on-time check, in arrival order, and one every `LONGEST_HOLD_S` whatever the loop does, so turns
always progress (four a second is a floor for a loop that never catches up, not a pace: on a loop
with gaps the on-time checks start them). Turns already running are never paused and nothing is
refused: a waiting message is stored and held, as it is while it waits for a turn slot. The watcher
runs only while turns wait, so an idle process spends nothing on it.

Measured (bench_slack_ack, PostgreSQL, one process, 1,000 events), together with the import fix of
`adk_imports`: p50 160 → 40-65 ms, p99 390 → 110-170 ms. bench_concurrency: turns per second
unchanged and p99 lower, as fewer turns share the CPU at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

LATE_S = 0.002  # a trip round the loop slower than this: the loop is busy
CHECK_EVERY_S = 0.005
LONGEST_HOLD_S = 0.25  # however busy the loop, a waiting turn starts at least this often


class LoopPressure:
    """Holds new turns back while the event loop runs late (see the module's docstring)."""

    def __init__(self, *, late_s: float = LATE_S, check_every_s: float = CHECK_EVERY_S, longest_hold_s: float = LONGEST_HOLD_S) -> None:
        self.late_s, self.check_every_s, self.longest_hold_s = late_s, check_every_s, longest_hold_s
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._watcher: asyncio.Task[None] | None = None
        self.held = 0  # turns that had to wait: /metrics reads it (trip_planner_turns_held_total)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def calm(self) -> None:
        """Return once the loop has time for another turn (at once when it has)."""
        if not self._waiting and await self._trip_s() < self.late_s:
            return
        self.held += 1
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(), name="loop-pressure-watcher")
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    @staticmethod
    async def _trip_s() -> float:
        started = time.perf_counter()
        await asyncio.sleep(0)
        return time.perf_counter() - started

    async def _watch(self) -> None:
        released_at = time.perf_counter()
        while self._waiting:
            started = time.perf_counter()
            await asyncio.sleep(self.check_every_s)
            now = time.perf_counter()
            if now - started - self.check_every_s >= self.late_s and now - released_at < self.longest_hold_s:
                continue
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    released_at = now
                    break

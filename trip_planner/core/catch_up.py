"""Catch-up: answer messages sent while no process was there to receive them.

Discord never redelivers, and Slack retries an event for a few minutes only, so after an outage or
a reconnect the adapter reads the history of places the bot talked in recently, after the last
message stored there, and passes each message through the same path as a live one. The core's
durable dedupe makes that idempotent: a message already stored is a no-op, so several processes
catching up at once answer it once.

Limitations shared by every platform: only places with a stored message within the window are read
(a person's very first message sent during an outage cannot be found), and at most `max_messages`
per place and pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.inflight import InFlight

if TYPE_CHECKING:
    from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

WINDOW_S = 24 * 3600.0  # places with a stored message this recent
MAX_PLACES = 200  # places per pass, the most recently active first
MAX_MESSAGES = 300  # messages read per place and pass
CONCURRENCY = 4  # places read at once


class CatchUp:
    """Runs catch-up passes for one channel in the background, one at a time: a request that comes
    while a pass runs (a second READY) gets one more pass after it, since it may follow messages the
    running pass has already looked past."""

    def __init__(
        self,
        runner: TripPlannerRunner,
        channel: Channel,
        inflight: InFlight,
        *,
        window_s: float = WINDOW_S,
        max_places: int = MAX_PLACES,
        max_messages: int = MAX_MESSAGES,
        concurrency: int = CONCURRENCY,
        wait_for_answers: bool = False,
        on_pass: Callable[[], None] | None = None,
    ) -> None:
        self.runner, self.channel, self.inflight = runner, channel, inflight
        self.window_s, self.max_places = window_s, max_places
        self.max_messages, self.concurrency = max_messages, concurrency
        # Answer each message before reading on (a finished pass means answered), or hand answers to
        # tasks (a platform whose live path must acknowledge quickly does the same).
        self.wait_for_answers = wait_for_answers
        self.passes = 0  # finished passes: for logs, health and tests
        self._on_pass = on_pass
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._asked_at = 0.0

    def request(self, *, received_before: float | None = None) -> None:
        """Run a pass soon; messages received from `received_before` (default: now) on are left out."""
        self._asked_at = received_before or time.time()
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self.inflight.spawn(self._passes(), f"{self.channel.platform}-catch-up")

    async def _passes(self) -> None:
        again = True
        while again and self.inflight.accepting:
            self._again = False
            try:
                await self.run(received_before=self._asked_at)
            except Exception:
                log.exception("Catching up on missed %s messages failed; live messages are unaffected", self.channel.platform)
            self.passes += 1
            if self._on_pass is not None:
                self._on_pass()
            again = self._again

    async def run(self, *, received_before: float | None = None) -> int:
        """One pass; returns how many messages were taken. `received_before` (when the pass was
        asked for) leaves out messages received live since then, so a new message cannot become a
        place's starting point and hide older missed ones."""
        places = await self.runner.recent_places(
            platform=self.channel.platform, since_s=self.window_s, limit=self.max_places, received_before=received_before
        )
        places = [p for p in places if self.channel.catches_up(p)]
        if not places:
            return 0
        slots = asyncio.Semaphore(self.concurrency)

        async def one(place: Inbound) -> int:
            async with slots:
                return await self._place(place)

        taken = sum(await asyncio.gather(*(one(p) for p in places)))
        if taken:
            log.info("Caught up on %d missed %s message(s) in %d place(s)", taken, self.channel.platform.capitalize(), len(places))
        return taken

    async def _place(self, last: Inbound) -> int:
        taken = read = 0
        try:
            async for inbound in self.channel.read_after(last, limit=self.max_messages):
                if not self.inflight.accepting:
                    break
                read += 1
                if self.wait_for_answers:
                    taken += not (await self.runner.handle(inbound, self.channel)).duplicate
                else:
                    taken += await self.runner.take(inbound, self.channel, self.inflight)
        except Exception:
            log.exception("Catching up %s failed; the rest of that place waits for the next pass", last.place)
        if read >= self.max_messages:
            log.warning("%s has more than %d messages after the last one stored; later ones wait", last.place, self.max_messages)
        return taken

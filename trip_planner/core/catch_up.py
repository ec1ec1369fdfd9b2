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
    from trip_planner.core.runner import AcceptedMessage, TripPlannerRunner

log = logging.getLogger(__name__)

WINDOW_S = 24 * 3600.0  # places with a stored message this recent
MAX_PLACES = 200  # places per pass, the most recently active first
MAX_MESSAGES = 300  # messages read per place and pass
CONCURRENCY = 4  # places read at once
STORE_WAIT_S = 10.0  # how long a live message waits for a pass to store the missed ones


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
        # Clear from a pass being asked for until it has stored every missed message it found: a
        # live message waits for that (`stored_missed`), so it cannot be stored, and answered, ahead
        # of the same person's older missed ones.
        self._missed_stored = asyncio.Event()
        self._missed_stored.set()

    def expect(self) -> None:
        """A pass is coming (the platform connected; its READY, which asks for the pass, follows):
        live messages that arrive in between wait for it, as they would once it is asked for.
        Without this a message dispatched before the pass is asked for is stored first and becomes
        its place's starting point, and if the process dies before the pass runs, the next one reads
        after it and never finds the older missed messages."""
        self._missed_stored.clear()

    def request(self, *, received_before: float | None = None) -> None:
        """Run a pass soon; messages received from `received_before` (default: now) on are left out."""
        self._asked_at = received_before or time.time()
        self._missed_stored.clear()
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
        self._missed_stored.set()

    async def stored_missed(self, *, timeout_s: float = STORE_WAIT_S) -> None:
        """Wait (bounded) until a pass asked for has stored the messages it found missing."""
        try:
            await asyncio.wait_for(self._missed_stored.wait(), timeout_s)
        except TimeoutError:
            log.warning("Catch-up still storing missed messages after %.0fs; answering a live one meanwhile", timeout_s)

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

        async def one(place: Inbound) -> list[AcceptedMessage]:
            async with slots:
                return await self._place(place)

        found = await asyncio.gather(*(one(p) for p in places))
        if not self._again:
            self._missed_stored.set()  # every missed message is stored: live ones may go now
        answered = await asyncio.gather(*(self._answer(accepted) for accepted in found))
        taken = sum(answered)
        if taken:
            log.info("Caught up on %d missed %s message(s) in %d place(s)", taken, self.channel.platform.capitalize(), len(places))
        return taken

    async def _place(self, last: Inbound) -> list[AcceptedMessage]:
        """Read a place's missed messages and store them, in order (answered after every place is
        stored, so nothing received live meanwhile gets ahead of them)."""
        accepted: list[AcceptedMessage] = []
        read = 0
        try:
            async for inbound in self.channel.read_after(last, limit=self.max_messages):
                if not self.inflight.accepting:
                    break
                read += 1
                stored = await self.runner.accept(inbound)
                if stored is not None:
                    accepted.append(stored)
        except Exception:
            log.exception("Catching up %s failed; the rest of that place waits for the next pass", last.place)
        if read >= self.max_messages:
            log.warning("%s has more than %d messages after the last one stored; later ones wait", last.place, self.max_messages)
        return accepted

    async def _answer(self, accepted: list[AcceptedMessage]) -> int:
        """Answer one place's stored missed messages in order: awaited (a finished pass means
        answered), or handed to tracked tasks."""
        for message in accepted:
            if self.wait_for_answers and self.runner.settings.answers_here:
                try:
                    await self.runner.answer(message, self.channel)
                except Exception:
                    log.exception("Could not answer missed message %s; the recovery sweep will", message.message_id)
            else:
                self.runner.answer_later(message, self.channel, self.inflight)
        return len(accepted)

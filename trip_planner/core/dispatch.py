"""Dispatch: in an `answer` process, take the messages `receive` processes stored, and answer them.

Why split the roles: a process that acknowledges a platform's deliveries and also runs the turns shares
one event loop between both, and under load an acknowledgement waits behind the turns' work (a p99 of
about a second at 50 Slack events in flight on PostgreSQL, against bare Bolt's 15-20 ms; see the
README's benchmarks). With `TRIP_PLANNER_ROLE=receive` a process only stores and acknowledges, leaving
each message unheld; `answer` processes run the turns. Each takes (adopts) stored messages oldest
first, only as many as it has free turn slots, so several answer processes share the load and none
hoards a backlog. A receive process NOTIFYs on commit and answer processes LISTEN, so a message
starts at once; a poll every `POLL_S` is the backstop (a notification lost with a dropped connection).

Order and exactly-once are the core's, as everywhere: a person's messages are taken oldest first and
queued in that order here; the turn re-checks under the person's lock (an earlier message held by
another live answer process goes first), and a message adopted by a process that dies is taken over
by the recovery sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from trip_planner.core.channel import Channel
from trip_planner.core.inflight import InFlight
from trip_planner.core.recovery import SWEEP_EVERY_S
from trip_planner.core.runner import AcceptedMessage, TripPlannerRunner
from trip_planner.core.store import InboundRecord
from trip_planner.core.store_records import NEW_INBOUND_CHANNEL
from trip_planner.core.turns import inbound_of

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often an answer process looks for stored messages when it heard of none


class Dispatcher:
    """Takes stored, unheld messages of one platform and answers them in this process."""

    def __init__(self, runner: TripPlannerRunner, channel: Channel, inflight: InFlight, *, poll_s: float = POLL_S) -> None:
        self.runner, self.channel, self.inflight = runner, channel, inflight
        self.poll_s = poll_s
        self.capacity = runner.settings.max_concurrent_turns
        self.taken = 0  # messages taken by this process: for logs and tests
        self._working = 0
        self._wake = asyncio.Event()
        self._listener: Any = None  # the asyncpg connection LISTENing, while it is open
        self._listening: Any = None  # its SQLAlchemy connection, given back to the pool at the end

    async def run(self) -> None:
        """Take and answer until cancelled."""
        try:
            while True:
                self._wake.clear()
                await self._listen()
                try:
                    await self._take()
                except Exception:
                    log.exception("Could not take stored messages; trying again in %.0fs", self.poll_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            await self._stop_listening()

    async def _take(self) -> None:
        free = self.capacity - self._working
        if free <= 0 or not self.inflight.accepting:
            return  # a finished answer wakes the loop again
        records = await self.runner.workers.adopt_new(prefix=f"{self.channel.platform}:", limit=free)
        for record in records:
            self._start(record)
        if records:
            log.info("Took %d stored message(s) to answer", len(records))

    def _start(self, record: InboundRecord) -> None:
        inbound = inbound_of(record)
        # Reserved in the order taken (oldest first), so this process answers a person in order.
        accepted = AcceptedMessage(inbound=inbound, ticket=self.runner.locks.reserve(inbound.user_id))
        answering = self.runner.answer_later(accepted, self.channel, self.inflight)
        if answering is None:  # not an answer process after all: nothing runs here
            return
        self._working += 1
        self.taken += 1
        answering.add_done_callback(self._slot_freed)

    def _slot_freed(self, _answering: asyncio.Task[Any]) -> None:
        self._working -= 1
        self._wake.set()  # take more

    # -- hearing of new messages at once (PostgreSQL) --------------------------------------------------

    async def _listen(self) -> None:
        engine = self.runner.sessions.engine
        if engine.dialect.name != "postgresql" or (self._listener is not None and not self._listener.is_closed()):
            return
        await self._stop_listening()
        try:
            self._listening = await engine.connect()
            raw = await self._listening.get_raw_connection()
            self._listener = raw.driver_connection
            await self._listener.add_listener(NEW_INBOUND_CHANNEL, self._heard)
        except Exception as err:
            log.warning("Could not LISTEN for stored messages (%s); polling every %.0fs", type(err).__name__, self.poll_s)
            await self._stop_listening()

    def _heard(self, *_notification: Any) -> None:
        self._wake.set()

    async def _stop_listening(self) -> None:
        listener, listening = self._listener, self._listening
        self._listener = self._listening = None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.remove_listener(NEW_INBOUND_CHANNEL, self._heard)
        if listening is not None:
            with contextlib.suppress(Exception):
                await listening.close()


async def work_in_background(
    runner: TripPlannerRunner, channel: Channel, inflight: InFlight, *, every_s: float = SWEEP_EVERY_S
) -> None:
    """What an adapter runs beside its listeners until cancelled, by the process's role: the recovery
    sweep wherever messages are answered, and in an `answer` process the dispatcher. A `receive`
    process answers nothing, so it runs neither (its messages wait, stored, for answer processes)."""
    jobs = []
    if runner.settings.answers_here:
        jobs.append(runner.run_recovery(channel, every_s=every_s))
    if not runner.settings.takes_events:
        jobs.append(Dispatcher(runner, channel, inflight).run())
    await asyncio.gather(*jobs)

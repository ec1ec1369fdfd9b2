"""The recovery sweep: finish what a dead worker, or a refused post, left undone.

Runs at start-up and then every few seconds in every worker, as one cheap indexed query when there
is nothing to do (`Workers.stranded`). A message is taken only when no live worker holds it (its
worker's heartbeat is stale, or its row is gone) or its retry is due; taking it is one conditional
update, so two sweeps never take the same message, and answering it re-checks under the person's
lock, so a sweep never doubles an answer. People are served fairly: each person's messages in the
order they came, different people side by side, so one backlog does not hold up everyone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from trip_planner.core.channel import Channel
from trip_planner.core.log_context import turn_context
from trip_planner.core.messages import Reply
from trip_planner.core.store import InboundRecord
from trip_planner.core.turns import inbound_of

if TYPE_CHECKING:
    from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 3.0
PEOPLE_AT_ONCE = 8  # people whose messages one sweep works on side by side


class Recovery:
    def __init__(self, runner: TripPlannerRunner) -> None:
        self.runner = runner
        self.recovered = 0  # messages delivered by sweeps in this process: for metrics and tests

    async def sweep(self, channel: Channel, *, force: bool = False, limit: int = 200) -> int:
        """One pass; returns how many answers it delivered. `force` takes every undelivered message
        of the platform whoever holds it and whenever its retry is due (operators and tests)."""
        workers = self.runner.workers
        pending = await workers.stranded(prefix=f"{channel.platform}:", limit=limit, force=force)
        if not pending:
            return 0
        by_person: OrderedDict[str, list[InboundRecord]] = OrderedDict()
        for record in pending:
            by_person.setdefault(record.user_id, []).append(record)
        slots = asyncio.Semaphore(PEOPLE_AT_ONCE)

        async def person(records: list[InboundRecord]) -> int:
            delivered = 0
            async with slots:
                for record in records:
                    if await workers.adopt(message_id=record.message_id, force=force):
                        with turn_context(record):
                            delivered += await self._finish(channel, record)
            return delivered

        delivered = sum(await asyncio.gather(*(person(records) for records in by_person.values())))
        self.recovered += delivered
        self.runner.metrics.recovered_messages(channel.platform, delivered)
        return delivered

    async def _finish(self, channel: Channel, record: InboundRecord) -> bool:
        inbound = inbound_of(record)
        try:
            if record.status == "received":
                log.info("Answering message %s left unanswered by a worker that stopped", record.message_id)
                reply = await self.runner.turn(inbound, channel=channel)
                if reply.duplicate:
                    return False  # answered meanwhile by the worker that held it; that one posts it
            else:
                log.info("Posting the stored answer to message %s", record.message_id)
                reply = Reply(
                    text=record.answer or "",
                    status="failed" if record.status == "failed" else "answered",
                    conversation_id=record.conversation_id,
                )
            return await self.runner.deliveries.deliver(channel, inbound, reply, recovering=True)
        except Exception:
            log.exception("Could not finish message %s; the next sweep tries again", record.message_id)
            return False

    async def run(self, channel: Channel, *, every_s: float = SWEEP_EVERY_S) -> None:
        """Sweep now and then every `every_s` until cancelled; adapters run it as a background task."""
        while True:
            try:
                await self.sweep(channel)
            except Exception:
                log.exception("Recovery sweep failed; trying again in %.0fs", every_s)
            await asyncio.sleep(every_s)

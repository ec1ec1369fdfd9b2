"""Workers: every process registers, keeps a heartbeat, and names itself on the work it holds.

Several processes share one database (PostgreSQL at scale). A process that dies (SIGKILL, a crash,
a lost host) leaves behind turn leases and messages it had accepted. Waiting for a lease to expire
made people watch "Planning…" for minutes; instead, every lease and every accepted message names its
worker, and work whose worker's heartbeat is stale (or whose row is gone: it stopped) is taken over
at once by any live worker. Work held by a live worker is never taken (no double answer), except
after `STRANDED_S` untouched, a backstop the conversation lock makes safe.

Refused posts are retried with backoff (`backoff_s`) instead of one fixed delay.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from trip_planner.core.store import ConversationStore, InboundRecord, inbound_record
from trip_planner.core.tables import inbound, workers
from trip_planner.core.turn_statements import PENDING_OF_PERSON, RELEASE_LEASE, TAKE_FREE_LEASE, TAKE_OVER_LEASE, holder_is_alive

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0  # how often a worker proves it is alive
STALE_S = 10.0  # a worker silent this long is taken for dead
STRANDED_S = 600.0  # a live worker's message untouched this long is taken all the same (backstop)


def backoff_s(attempts: int) -> float:
    """Seconds before a refused post is tried again: 5 s doubling to 5 minutes."""
    return float(min(5 * 2 ** max(attempts - 1, 0), 300))


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Workers:
    """This process as a worker, and the SQL that decides who may take which work."""

    def __init__(self, store: ConversationStore, *, name: str | None = None) -> None:
        self.store = store
        # A fixed name (TRIP_PLANNER_WORKER_NAME, e.g. the platform's dyno name) lets a restarted
        # process take its predecessor's work at once instead of waiting for its heartbeat to go stale.
        self.name = name or default_worker_name()
        self.named = name is not None
        self.worker_id = f"{self.name}:{uuid.uuid4().hex[:12]}"
        self._beating: asyncio.Task[None] | None = None

    # -- liveness -----------------------------------------------------------------------------------

    @staticmethod
    def alive(holder: Any, now: float) -> ColumnElement[bool]:
        """SQL: `holder` names a worker whose heartbeat is fresh."""
        return holder_is_alive(holder, now - STALE_S)

    async def register(self) -> None:
        now = time.time()
        async with self.store.transaction() as conn:
            if self.named:
                gone = await conn.execute(
                    delete(workers).where(workers.c.worker_id.startswith(f"{self.name}:", autoescape=True))
                )
                if gone.rowcount:
                    log.info("Worker %s restarted: its predecessor's work is taken over now", self.name)
            await conn.execute(insert(workers).values(worker_id=self.worker_id, started_at=now, heartbeat_at=now))
        self._beating = asyncio.create_task(self._beat_forever(), name="worker-heartbeat")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                async with self.store.transaction() as conn:
                    result = await conn.execute(
                        update(workers).where(workers.c.worker_id == self.worker_id).values(heartbeat_at=time.time())
                    )
                    if result.rowcount == 0:  # removed by an operator or a predecessor check: come back
                        now = time.time()
                        await conn.execute(insert(workers).values(worker_id=self.worker_id, started_at=now, heartbeat_at=now))
            except (IntegrityError, Exception):
                log.warning("Could not renew this worker's heartbeat; trying again", exc_info=True)

    async def leave(self) -> None:
        """Stop beating and remove the row: what this worker could not finish goes to the others now."""
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
            self._beating = None
        try:
            async with self.store.transaction() as conn:
                await conn.execute(delete(workers).where(workers.c.worker_id == self.worker_id))
        except Exception:
            log.warning("Could not remove this worker's row; others take its work once it is stale", exc_info=True)

    async def live_workers(self) -> int:
        async with self.store.transaction() as conn:
            count = (await conn.execute(select(func.count()).where(workers.c.heartbeat_at >= time.time() - STALE_S))).scalar_one()
        return int(count)

    # -- turn leases: one turn at a time per user id, across processes ----------------------------

    async def try_lease(self, *, key: str, lease_s: float) -> bool:
        """Take the key's lease if it is free, ran out, or its holder is not alive."""
        now = time.time()
        try:
            async with self.store.transaction() as conn:
                await conn.execute(TAKE_FREE_LEASE, {"lease_key": key, "holder": self.worker_id, "expires_at": now + lease_s})
            return True
        except IntegrityError:
            pass
        async with self.store.transaction() as conn:
            result = await conn.execute(TAKE_OVER_LEASE, {
                "of_key": key, "now": now, "fresh_since": now - STALE_S, "me": self.worker_id, "until": now + lease_s,
            })
        return result.rowcount == 1

    async def release_lease(self, *, key: str) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(RELEASE_LEASE, {"of_key": key, "me": self.worker_id})

    # -- inbound work: what the recovery sweep may take ---------------------------------------------

    def _takeable(self, now: float, *, force: bool) -> ColumnElement[bool]:
        if force:
            return inbound.c.delivered_at.is_(None)
        return and_(
            inbound.c.delivered_at.is_(None),
            func.coalesce(inbound.c.next_attempt_at, 0.0) <= now,
            or_(
                # Unheld: released for a retry, or stored by a `receive` process and not taken by an
                # `answer` process within STALE_S (none running?): until then it is theirs to take.
                and_(inbound.c.worker_id.is_(None), or_(inbound.c.next_attempt_at.is_not(None), inbound.c.received_at < now - STALE_S)),
                and_(inbound.c.worker_id.is_not(None), ~self.alive(inbound.c.worker_id, now)),
                func.coalesce(inbound.c.attempt_at, inbound.c.received_at) < now - STRANDED_S,
            ),
        )

    async def stranded(self, *, prefix: str, limit: int = 200, force: bool = False) -> list[InboundRecord]:
        """Undelivered messages of one platform that no live worker holds (or whose retry is due),
        oldest first: one indexed query, cheap when there is nothing to do."""
        now = time.time()
        async with self.store.transaction() as conn:
            rows = (
                await conn.execute(
                    select(inbound)
                    .where(inbound.c.message_id.startswith(prefix, autoescape=True), self._takeable(now, force=force))
                    .order_by(inbound.c.received_at)
                    .limit(limit)
                )
            ).all()
        return [inbound_record(r) for r in rows]

    async def adopt(self, *, message_id: str, force: bool = False) -> bool:
        """Take one message for this worker; False when another took it (or it was delivered) since."""
        now = time.time()
        async with self.store.transaction() as conn:
            result = await conn.execute(
                update(inbound)
                .where(inbound.c.message_id == message_id, self._takeable(now, force=force))
                .values(worker_id=self.worker_id, attempt_at=now)
            )
        return result.rowcount == 1

    async def adopt_new(self, *, prefix: str, limit: int) -> list[InboundRecord]:
        """Take up to `limit` of one platform's messages that no worker holds yet (what `receive`
        processes store), oldest first, in one statement. PostgreSQL skips rows another answer
        process is taking at the same moment, so two never wait on or take the same message."""
        now = time.time()
        chosen = (
            select(inbound.c.message_id)
            .where(
                inbound.c.message_id.startswith(prefix, autoescape=True),
                inbound.c.worker_id.is_(None),
                inbound.c.status == "received",
                inbound.c.delivered_at.is_(None),
                inbound.c.next_attempt_at.is_(None),  # a release for a retry is the sweep's
            )
            .order_by(inbound.c.received_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("chosen")  # materialised once: a subquery under IN may be rescanned, past its LIMIT
        )
        async with self.store.transaction() as conn:
            rows = (
                await conn.execute(
                    update(inbound)
                    .where(inbound.c.message_id == chosen.c.message_id, inbound.c.worker_id.is_(None))
                    .values(worker_id=self.worker_id, attempt_at=now)
                    .returning(*inbound.c)
                )
            ).all()
        return sorted((inbound_record(r) for r in rows), key=lambda r: (r.received_at, r.message_id))

    async def pending_of(self, *, user_id: str, message_id: str) -> tuple[InboundRecord | None, list[tuple[InboundRecord, bool]]]:
        """The message itself, and the same person's unanswered messages received before it, each
        with whether a live worker other than this one holds it: what must be answered first."""
        now = time.time()
        async with self.store.transaction() as conn:
            rows = (await conn.execute(PENDING_OF_PERSON, {
                "of_message": message_id, "of_user": user_id, "me": self.worker_id, "fresh_since": now - STALE_S,
            })).all()
        mine = next((inbound_record(r) for r in rows if r._mapping["message_id"] == message_id), None)
        if mine is None:
            return None, []
        earlier = [
            (inbound_record(r), bool(r._mapping["held_elsewhere"]))
            for r in rows
            if r._mapping["message_id"] != message_id and r._mapping["received_at"] < mine.received_at
        ]
        return mine, earlier

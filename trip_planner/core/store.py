"""The conversation registry: what ADK's session tables do not hold.

ADK stores a session's events and state. Everything else the product needs to continue after a
restart, or on a second worker, lives here in four small tables on the same database: which
conversation is current for each user id, its queries, the inbound messages (durable dedupe and "never
lose a message"), and which platform messages carry the bot's answers (for reactions).

Atomicity comes from the database, not from process memory: a partial unique index allows one active
conversation per user id, and the inbound table's primary key makes the first claim of a message id
win, across processes. The records it returns are in `store_records`; the answer-message refs and
feedback claims in `store_refs` (a base of `ConversationStore`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trip_planner.core.inbound_batch import InsertBatcher
from trip_planner.core.store_records import (
    STREAM_KEY,
    ConversationRecord,
    InboundRecord,
    QueryRecord,
    conversation_record,
    inbound_record,
)
from trip_planner.core.store_refs import AnswerRefs
from trip_planner.core.turn_statements import ACTIVE_CONVERSATION, COUNT_QUERY, FINISH_INBOUND, INSERT_QUERY
from trip_planner.core.tables import (
    conversations,
    inbound,
    message_refs,
    metadata,
    queries,
    subscriptions,
    turn_leases,
    workers,
)

__all__ = [
    "STREAM_KEY", "ConversationRecord", "InboundRecord", "QueryRecord", "inbound_record",
    "ConversationStore", "metadata", "conversations", "queries", "inbound", "message_refs", "subscriptions", "turn_leases", "workers"]

class ConversationStore(AnswerRefs):
    """Small, keyword-only methods over the registry tables; each is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._ready = False
        self._prepare_lock = asyncio.Lock()
        # Messages are stored before the platform is acknowledged: grouped, and ahead of turn writes.
        self.inbound_writes = InsertBatcher(engine, inbound, key="message_id", prepare=self.prepare)

    async def prepare(self) -> None:
        if self._ready:
            return
        async with self._prepare_lock:
            if self._ready:
                return
            try:
                await self._create_tables()
            except DBAPIError:
                # Another process created them between our check and our CREATE: check again.
                await self._create_tables()
            self._ready = True

    async def _create_tables(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One short transaction (the tables are prepared first)."""
        return self._tx()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        await self.prepare()
        async with self.engine.begin() as conn:
            yield conn

    async def _insert_once(self, table: Table, **values: Any) -> bool:
        """Insert a row keyed by a unique constraint; False when the key is taken (the first writer
        wins, in this process or any other)."""
        try:
            async with self._tx() as conn:
                await conn.execute(insert(table).values(**values))
        except IntegrityError:
            return False
        return True

    # -- conversations -------------------------------------------------------------------------

    async def active_conversation(self, *, user_id: str) -> ConversationRecord | None:
        async with self._tx() as conn:
            row = (await conn.execute(ACTIVE_CONVERSATION, {"of_user": user_id})).first()
        return conversation_record(row) if row else None

    async def recent_conversations(self, *, user_id: str, limit: int) -> list[ConversationRecord]:
        """A person's latest conversations, newest first (the App Home's "recent trips")."""
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(conversations).where(conversations.c.user_id == user_id)
                    .order_by(conversations.c.created_at.desc()).limit(limit)
                )
            ).all()
        return [conversation_record(r) for r in rows]

    async def get_conversation(self, *, conversation_id: str) -> ConversationRecord | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(conversations).where(conversations.c.conversation_id == conversation_id))
            ).first()
        return conversation_record(row) if row else None

    async def insert_active_conversation(
        self, *, conversation_id: str, user_id: str, session_id: str
    ) -> ConversationRecord | None:
        """Claim the user's active slot; None when another task or process already holds it."""
        now = time.time()
        claimed = await self._insert_once(
            conversations,
            conversation_id=conversation_id,
            user_id=user_id,
            session_id=session_id,
            status="active",
            query_count=0,
            created_at=now,
            updated_at=now,
        )
        return await self.get_conversation(conversation_id=conversation_id) if claimed else None

    async def end_conversation(
        self, *, conversation_id: str, reason: str, feedback: str | None
    ) -> ConversationRecord | None:
        """Mark ended; None when it was not active (someone else ended it first)."""
        now = time.time()
        async with self._tx() as conn:
            result = await conn.execute(
                update(conversations)
                .where(conversations.c.conversation_id == conversation_id, conversations.c.status == "active")
                .values(status="ended", end_reason=reason, feedback=feedback, ended_at=now, updated_at=now)
            )
        if result.rowcount == 0:
            return None
        return await self.get_conversation(conversation_id=conversation_id)

    async def set_feedback(self, *, conversation_id: str, feedback: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                update(conversations)
                .where(conversations.c.conversation_id == conversation_id)
                .values(feedback=feedback, updated_at=time.time())
            )

    async def add_query(self, *, conversation_id: str, query: str, response: str) -> int:
        """Append one query/answer pair and return its number (1-based), atomically."""
        async with self._tx() as conn:
            return await self._add_query(conn, conversation_id=conversation_id, query=query, response=response)

    @staticmethod
    async def _add_query(
        conn: AsyncConnection, *, conversation_id: str, query: str, response: str, trace_id: str | None = None
    ) -> int:
        now = time.time()
        query_num = (await conn.execute(
            COUNT_QUERY, {"of_conversation": conversation_id, "now": now, "trace_id": trace_id}
        )).scalar_one()
        await conn.execute(INSERT_QUERY, {
            "conversation_id": conversation_id, "query_num": query_num, "query": query[:200],
            "response": (response or "No response")[:500], "created_at": now,
        })
        return int(query_num)

    async def finish_turn(
        self,
        *,
        message_id: str,
        status: str,
        query: str,
        answer: str,
        conversation_id: str,
        trace_id: str | None = None,
    ) -> int:
        """Record the query in its conversation and mark the inbound message answered, together:
        a crash between the two would either lose the record or answer the message twice."""
        async with self._tx() as conn:
            query_num = await self._add_query(
                conn, conversation_id=conversation_id, query=query, response=answer, trace_id=trace_id
            )
            await self._finish_inbound(conn, message_id, status, answer, conversation_id)
        return query_num

    async def list_queries(self, *, conversation_id: str) -> list[QueryRecord]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(queries).where(queries.c.conversation_id == conversation_id).order_by(queries.c.query_num)
                )
            ).all()
        return [QueryRecord(r.query_num, r.query, r.response, r.created_at) for r in rows]

    # -- inbound messages ----------------------------------------------------------------------

    async def claim_inbound(
        self,
        *,
        message_id: str,
        user_id: str,
        text: str,
        reply_to: Mapping[str, Any] | None = None,
        place: str | None = None,
        worker_id: str | None = None,
    ) -> bool:
        """Persist a new inbound message, held by `worker_id`; False when this id was already seen."""
        return await self.inbound_writes.insert(dict(
            message_id=message_id,
            user_id=user_id,
            text=text,
            status="received",
            reply_to=json.dumps(dict(reply_to)) if reply_to else None,
            received_at=time.time(),
            place=place,
            worker_id=worker_id,
            attempt_at=time.time() if worker_id else None,
        ))

    async def get_inbound(self, *, message_id: str) -> InboundRecord | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(inbound).where(inbound.c.message_id == message_id))).first()
        return inbound_record(row) if row else None

    async def note_stream(self, *, message_id: str, stream: str) -> None:
        """Remember the message that shows the answer growing (see `answer_stream`), inside the
        reply_to JSON under `STREAM_KEY` (no schema change; `turns.inbound_of` takes it out again)."""
        async with self._tx() as conn:
            raw = (await conn.execute(select(inbound.c.reply_to).where(inbound.c.message_id == message_id))).scalar_one_or_none()
            where = dict(json.loads(raw)) if raw else {}
            where[STREAM_KEY] = stream
            await conn.execute(update(inbound).where(inbound.c.message_id == message_id).values(reply_to=json.dumps(where)))

    async def finish_inbound(
        self, *, message_id: str, status: str, answer: str, conversation_id: str | None
    ) -> None:
        async with self._tx() as conn:
            await self._finish_inbound(conn, message_id, status, answer, conversation_id)

    @staticmethod
    async def _finish_inbound(
        conn: AsyncConnection, message_id: str, status: str, answer: str, conversation_id: str | None
    ) -> None:
        await conn.execute(FINISH_INBOUND, {
            "of_message": message_id, "new_status": status, "new_answer": answer,
            "new_conversation": conversation_id, "now": time.time(),
        })

    async def unanswered_inbound(self, *, older_than_s: float = 0.0, limit: int = 100) -> list[InboundRecord]:
        """Messages persisted but never answered (the process died mid-turn), oldest first."""
        cutoff = time.time() - older_than_s
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(inbound)
                    .where(inbound.c.status == "received", inbound.c.received_at <= cutoff)
                    .order_by(inbound.c.received_at)
                    .limit(limit)
                )
            ).all()
        return [inbound_record(r) for r in rows]

    async def latest_inbound_per_place(
        self, *, prefix: str, since_s: float, limit: int = 100, received_before: float | None = None
    ) -> list[InboundRecord]:
        """The newest inbound message per place among messages whose id starts with `prefix`,
        received within the last `since_s` seconds (and before `received_before`, when given);
        newest place first, at most `limit` places.

        An adapter whose platform does not redeliver uses it after a reconnect to ask "what came after
        the last message I stored here?". Messages stored without a place are not listed.
        """
        now = time.time()
        conditions = [
            inbound.c.message_id.startswith(prefix, autoescape=True),
            inbound.c.place.is_not(None),
            inbound.c.received_at >= now - since_s,
        ]
        if received_before is not None:
            conditions.append(inbound.c.received_at < received_before)
        last = func.max(inbound.c.received_at).label("last")
        async with self._tx() as conn:
            newest = (
                await conn.execute(
                    select(inbound.c.place, last).where(*conditions).group_by(inbound.c.place).order_by(last.desc()).limit(limit)
                )
            ).all()
            if not newest:
                return []
            rows = (
                await conn.execute(
                    select(inbound).where(
                        *conditions,
                        or_(*(and_(inbound.c.place == place, inbound.c.received_at == at) for place, at in newest)),
                    )
                )
            ).all()
        by_place: dict[str, InboundRecord] = {}
        for row in rows:
            record = inbound_record(row)
            assert record.place is not None
            kept = by_place.get(record.place)
            if kept is None or record.message_id > kept.message_id:
                by_place[record.place] = record
        return [by_place[place] for place, _at in newest if place in by_place]

    # -- subscriptions: places the bot follows for a person ---------------------------------------

    async def subscribe(self, *, place: str, user_id: str) -> None:
        """Idempotent: the first subscription of a place is kept."""
        await self._insert_once(subscriptions, place=place, user_id=user_id, created_at=time.time())

    async def is_subscribed(self, *, place: str) -> bool:
        async with self._tx() as conn:
            row = (await conn.execute(select(subscriptions.c.place).where(subscriptions.c.place == place))).first()
        return row is not None

    async def release_for_retry(self, *, message_id: str, after_s: Callable[[int], float]) -> None:
        """A post was refused: let any worker try again after the backoff for one more attempt."""
        async with self._tx() as conn:
            attempts = (
                await conn.execute(select(inbound.c.attempts).where(inbound.c.message_id == message_id))
            ).scalar_one_or_none()
            if attempts is None:
                return
            await conn.execute(
                update(inbound)
                .where(inbound.c.message_id == message_id)
                .values(worker_id=None, attempts=attempts + 1, next_attempt_at=time.time() + after_s(attempts + 1))
            )

    async def mark_delivered(self, *, message_id: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                update(inbound).where(inbound.c.message_id == message_id).values(delivered_at=time.time())
            )

    async def prune_inbound(self, *, older_than_s: float) -> int:
        """Forget finished messages past the retention (it must exceed the platforms' retry window)."""
        cutoff = time.time() - older_than_s
        async with self._tx() as conn:
            result = await conn.execute(
                delete(inbound).where(inbound.c.status != "received", inbound.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)

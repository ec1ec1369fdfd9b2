"""The conversation registry: what ADK's session tables do not hold.

ADK stores a session's events and state. Everything else the product needs to continue after a
restart, or on a second worker, lives here in four small tables on the same database: which
conversation is current for each user id, its queries, the inbound messages (durable dedupe and "never
lose a message"), and which platform messages carry the bot's answers (for reactions).

Atomicity comes from the database, not from process memory: a partial unique index allows one active
conversation per user id, and the inbound table's primary key makes the first claim of a message id
win, across processes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

metadata = MetaData()

conversations = Table(
    "tp_conversations",
    metadata,
    Column("conversation_id", String(32), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # active | ended
    Column("end_reason", String(32)),
    Column("feedback", String(32)),
    Column("query_count", Integer, nullable=False, default=0),
    Column("last_trace_id", String(64)),  # the tracing backend's id of the last query's trace
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("ended_at", Float),
    Index("ix_tp_conversations_user", "user_id"),
    # At most one active conversation per user id, enforced by the database for every process.
    Index(
        "uq_tp_conversations_one_active",
        "user_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

queries = Table(
    "tp_queries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(32), ForeignKey("tp_conversations.conversation_id"), nullable=False),
    Column("query_num", Integer, nullable=False),
    Column("query", String(200), nullable=False),
    Column("response", String(500), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("conversation_id", "query_num", name="uq_tp_queries_num"),
)

inbound = Table(
    "tp_inbound",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),  # received | answered | failed
    Column("answer", Text),
    Column("conversation_id", String(32)),
    Column("reply_to", Text),  # the adapter's JSON note of where to answer, for recovery
    Column("received_at", Float, nullable=False),
    Column("answered_at", Float),
    Column("delivered_at", Float),  # the adapter posted the answer
    Column("attempt_at", Float),  # a recovery sweep's lease on this message
    Column("place", String(255)),  # where it was said (the adapter's key), for catch-up
    Index("ix_tp_inbound_undelivered", "delivered_at", "received_at"),
    Index("ix_tp_inbound_place", "place", "received_at"),
)

turn_leases = Table(
    "tp_turn_leases",
    metadata,
    Column("lease_key", String(255), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)

# "This place (a thread) continues that person's conversation": a follow-up there without a mention
# is for the bot. Written when the message that started it is stored, so it holds from that moment,
# across restarts and workers.
subscriptions = Table(
    "tp_subscriptions",
    metadata,
    Column("place", String(255), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_tp_subscriptions_user", "user_id"),
)

message_refs = Table(
    "tp_message_refs",
    metadata,
    Column("message_ref", String(255), primary_key=True),
    Column("conversation_id", String(32), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class ConversationRecord:
    conversation_id: str
    user_id: str
    session_id: str
    status: str
    end_reason: str | None
    feedback: str | None
    query_count: int
    last_trace_id: str | None
    created_at: float
    updated_at: float
    ended_at: float | None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class QueryRecord:
    query_num: int
    query: str
    response: str
    created_at: float


@dataclass(frozen=True)
class InboundRecord:
    message_id: str
    user_id: str
    text: str
    status: str
    answer: str | None
    conversation_id: str | None
    reply_to: dict[str, Any] | None
    received_at: float
    answered_at: float | None = None
    delivered_at: float | None = None
    place: str | None = None


def _conversation(row: Any) -> ConversationRecord:
    return ConversationRecord(**{c: row._mapping[c] for c in ConversationRecord.__dataclass_fields__})


def _inbound(row: Any) -> InboundRecord:
    m = row._mapping
    return InboundRecord(
        message_id=m["message_id"],
        user_id=m["user_id"],
        text=m["text"],
        status=m["status"],
        answer=m["answer"],
        conversation_id=m["conversation_id"],
        reply_to=json.loads(m["reply_to"]) if m["reply_to"] else None,
        received_at=m["received_at"],
        answered_at=m["answered_at"],
        delivered_at=m["delivered_at"],
        place=m["place"],
    )


class ConversationStore:
    """Small, keyword-only methods over the registry tables; each is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._ready = False
        self._prepare_lock = asyncio.Lock()

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
            row = (
                await conn.execute(
                    select(conversations).where(conversations.c.user_id == user_id, conversations.c.status == "active")
                )
            ).first()
        return _conversation(row) if row else None

    async def get_conversation(self, *, conversation_id: str) -> ConversationRecord | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(conversations).where(conversations.c.conversation_id == conversation_id))
            ).first()
        return _conversation(row) if row else None

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
        values: dict[str, Any] = {"query_count": conversations.c.query_count + 1, "updated_at": now}
        if trace_id is not None:
            values["last_trace_id"] = trace_id
        # The UPDATE takes the row's write lock first, so concurrent adds number without gaps.
        await conn.execute(
            update(conversations).where(conversations.c.conversation_id == conversation_id).values(**values)
        )
        query_num = (
            await conn.execute(
                select(conversations.c.query_count).where(conversations.c.conversation_id == conversation_id)
            )
        ).scalar_one()
        await conn.execute(
            insert(queries).values(
                conversation_id=conversation_id,
                query_num=query_num,
                query=query[:200],
                response=(response or "No response")[:500],
                created_at=now,
            )
        )
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
    ) -> bool:
        """Persist a new inbound message; False when this message id was already seen."""
        return await self._insert_once(
            inbound,
            message_id=message_id,
            user_id=user_id,
            text=text,
            status="received",
            reply_to=json.dumps(dict(reply_to)) if reply_to else None,
            received_at=time.time(),
            place=place,
        )

    async def get_inbound(self, *, message_id: str) -> InboundRecord | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(inbound).where(inbound.c.message_id == message_id))).first()
        return _inbound(row) if row else None

    async def finish_inbound(
        self, *, message_id: str, status: str, answer: str, conversation_id: str | None
    ) -> None:
        async with self._tx() as conn:
            await self._finish_inbound(conn, message_id, status, answer, conversation_id)

    @staticmethod
    async def _finish_inbound(
        conn: AsyncConnection, message_id: str, status: str, answer: str, conversation_id: str | None
    ) -> None:
        await conn.execute(
            update(inbound)
            .where(inbound.c.message_id == message_id)
            # attempt_at is cleared: from now on the row's age counts from its answer (see `_stale`),
            # not from an earlier recovery attempt that leased it while it was still unanswered.
            .values(status=status, answer=answer, conversation_id=conversation_id, answered_at=time.time(), attempt_at=None)
        )

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
        return [_inbound(r) for r in rows]

    @staticmethod
    def _last_touched() -> Any:
        return func.coalesce(inbound.c.attempt_at, inbound.c.answered_at, inbound.c.received_at)

    @classmethod
    def _stale(cls, now: float, older_than_s: float, answered_older_than_s: float | None) -> Any:
        """Untouched for `older_than_s`; an answered one (only its posting is missing) already after
        `answered_older_than_s` when given."""
        if answered_older_than_s is None:
            return cls._last_touched() <= now - older_than_s
        return or_(
            and_(inbound.c.status == "received", cls._last_touched() <= now - older_than_s),
            and_(inbound.c.status != "received", cls._last_touched() <= now - answered_older_than_s),
        )

    async def undelivered_inbound(
        self, *, prefix: str, older_than_s: float, limit: int = 50, answered_older_than_s: float | None = None
    ) -> list[InboundRecord]:
        """Messages whose id starts with `prefix` (one platform's) and whose answer never reached the
        platform (unanswered, or answered but not posted), untouched for `older_than_s` (answered ones:
        `answered_older_than_s`, when given); oldest first."""
        stale = self._stale(time.time(), older_than_s, answered_older_than_s)
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(inbound)
                    .where(
                        inbound.c.message_id.startswith(prefix, autoescape=True),
                        inbound.c.delivered_at.is_(None),
                        stale,
                    )
                    .order_by(inbound.c.received_at)
                    .limit(limit)
                )
            ).all()
        return [_inbound(r) for r in rows]

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
            record = _inbound(row)
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

    async def lease_for_recovery(
        self, *, message_id: str, older_than_s: float, answered_older_than_s: float | None = None
    ) -> bool:
        """Take one undelivered message for a recovery attempt; False when another worker took it
        (or it was delivered) since it was listed. A crashed attempt frees it after `older_than_s`
        (`answered_older_than_s` for an answered message, when given)."""
        now = time.time()
        async with self._tx() as conn:
            result = await conn.execute(
                update(inbound)
                .where(
                    inbound.c.message_id == message_id,
                    inbound.c.delivered_at.is_(None),
                    self._stale(now, older_than_s, answered_older_than_s),
                )
                .values(attempt_at=now)
            )
        return result.rowcount == 1

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

    # -- which platform messages carry which conversation's answers ------------------------------

    async def remember_message(self, *, message_ref: str, conversation_id: str, user_id: str) -> None:
        """Idempotent: remembering the same message twice keeps the first record."""
        await self._insert_once(
            message_refs,
            message_ref=message_ref,
            conversation_id=conversation_id,
            user_id=user_id,
            created_at=time.time(),
        )

    async def conversation_for_message(self, *, message_ref: str) -> str | None:
        async with self._tx() as conn:
            return (
                await conn.execute(
                    select(message_refs.c.conversation_id).where(message_refs.c.message_ref == message_ref)
                )
            ).scalar_one_or_none()

    # -- turn leases: one turn at a time per conversation key, across processes -----------------

    async def try_lease(self, *, key: str, holder: str, lease_s: float) -> bool:
        """Take the key's lease if it is free or its holder's lease ran out (a crashed process)."""
        now = time.time()
        if await self._insert_once(turn_leases, lease_key=key, holder=holder, expires_at=now + lease_s):
            return True
        async with self._tx() as conn:
            result = await conn.execute(
                update(turn_leases)
                .where(turn_leases.c.lease_key == key, turn_leases.c.expires_at < now)
                .values(holder=holder, expires_at=now + lease_s)
            )
        return result.rowcount == 1

    async def release_lease(self, *, key: str, holder: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                delete(turn_leases).where(turn_leases.c.lease_key == key, turn_leases.c.holder == holder)
            )

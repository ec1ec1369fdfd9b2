"""Our tables exactly as main's commit e00aa1b defined them (trip_planner/core/store.py there), frozen.

Tests build "a database made by the schema on main before migrations" from this, with `create_all`,
the way that code did: no version table. Never edit it to follow tables.py.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, text

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

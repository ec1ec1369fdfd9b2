"""The registry's tables: what ADK's session tables do not hold, on the same database.

Atomicity comes from the database, not from process memory: a partial unique index allows one active
conversation per user id, the inbound table's primary key makes the first claim of a message id win,
and the lease and worker rows make several processes take turns.
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
    Column("worker_id", String(128)),  # the worker answering or posting it now (None: nobody)
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed posts so far
    Column("next_attempt_at", Float),  # a refused post is tried again from then (backoff)
    Index("ix_tp_inbound_undelivered", "delivered_at", "received_at"),
    Index("ix_tp_inbound_user", "user_id", "received_at"),
    Index("ix_tp_inbound_place", "place", "received_at"),
)

turn_leases = Table(
    "tp_turn_leases",
    metadata,
    Column("lease_key", String(255), primary_key=True),
    Column("holder", String(128), nullable=False),  # a worker id (see tp_workers)
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

# Every running process (worker) and its heartbeat: work held by a worker whose heartbeat went stale,
# or whose row is gone (it stopped), is taken over at once by any live worker.
workers = Table(
    "tp_workers",
    metadata,
    Column("worker_id", String(128), primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

message_refs = Table(
    "tp_message_refs",
    metadata,
    Column("message_ref", String(255), primary_key=True),
    Column("conversation_id", String(32), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
)

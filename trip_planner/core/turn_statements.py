"""The registry statements every turn runs, built once.

SQLAlchemy caches a statement's compiled SQL, but not the Python objects that `select(...).where(...)`
builds on each call, nor the cache key it computes from them: under load that composing was about a
sixth of the event loop's time (py-spy, bench/bench_concurrency.py), more than running the cached
statements. These are composed at import with named parameters and executed with a dict. Parameter
names differ from column names: SQLAlchemy reserves a column's own name for its SET/VALUES value.
"""

from __future__ import annotations

from sqlalchemy import Exists, Float, String, and_, bindparam, delete, exists, func, insert, or_, select, update

from trip_planner.core.tables import conversations, inbound, queries, turn_leases, workers

_NOW = bindparam("now", type_=Float)
_ME = bindparam("me", type_=String)


def holder_is_alive(holder: object, fresh_since: float | None = None) -> Exists:
    """SQL: `holder` names a worker whose heartbeat is newer than `fresh_since` (a heartbeat older
    than workers.STALE_S is a stopped worker's). Without a value, the statement takes it as the
    parameter `fresh_since` when it runs."""
    since = bindparam("fresh_since", type_=Float) if fresh_since is None else bindparam("fresh_since", fresh_since, type_=Float)
    return exists().where(workers.c.worker_id == holder, workers.c.heartbeat_at >= since)


ACTIVE_CONVERSATION = select(conversations).where(
    conversations.c.user_id == bindparam("of_user"), conversations.c.status == "active"
)

# One statement numbers the query: the UPDATE takes the row's write lock, so concurrent adds number
# without gaps, and RETURNING gives the number it reached (SQLite 3.35+, PostgreSQL).
COUNT_QUERY = (
    update(conversations)
    .where(conversations.c.conversation_id == bindparam("of_conversation"))
    .values(
        query_count=conversations.c.query_count + 1,
        updated_at=_NOW,
        last_trace_id=func.coalesce(bindparam("trace_id", type_=String), conversations.c.last_trace_id),
    )
    .returning(conversations.c.query_count)
)
INSERT_QUERY = insert(queries)

# attempt_at is cleared: from now on the row's age counts from its answer (see `workers._stale`), not
# from an earlier recovery attempt that leased it while it was still unanswered.
FINISH_INBOUND = (
    update(inbound)
    .where(inbound.c.message_id == bindparam("of_message"))
    .values(status=bindparam("new_status"), answer=bindparam("new_answer"),
            conversation_id=bindparam("new_conversation"), answered_at=_NOW, attempt_at=None)
)

# A person's messages of the last minute and those still waiting: what the per-person limits count.
RECENT_OF_PERSON = (
    select(inbound.c.message_id, inbound.c.status, inbound.c.received_at)
    .where(inbound.c.user_id == bindparam("of_user"),
           or_(inbound.c.received_at >= bindparam("since", type_=Float), inbound.c.status == "received"))
    .order_by(inbound.c.received_at)
)

# The message itself and the same person's unanswered messages, each with whether a live worker other
# than this one (:me) holds it.
PENDING_OF_PERSON = (
    select(inbound, and_(inbound.c.worker_id != _ME, holder_is_alive(inbound.c.worker_id)).label("held_elsewhere"))
    .where(or_(
        inbound.c.message_id == bindparam("of_message"),
        and_(inbound.c.user_id == bindparam("of_user"), inbound.c.status == "received", inbound.c.delivered_at.is_(None)),
    ))
    .order_by(inbound.c.received_at, inbound.c.message_id)
)

TAKE_FREE_LEASE = insert(turn_leases)
# A lease can be taken over when it ran out or its holder is gone.
TAKE_OVER_LEASE = (
    update(turn_leases)
    .where(turn_leases.c.lease_key == bindparam("of_key"),
           or_(turn_leases.c.expires_at < _NOW, ~holder_is_alive(turn_leases.c.holder)))
    .values(holder=_ME, expires_at=bindparam("until", type_=Float))
)
RELEASE_LEASE = delete(turn_leases).where(turn_leases.c.lease_key == bindparam("of_key"), turn_leases.c.holder == _ME)

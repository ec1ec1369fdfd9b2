"""One async SQLAlchemy engine per process, shared by ADK's session service and our registry.

Sharing one engine keeps SQLite to one writer pool (two engines on one file fight over its lock) and
PostgreSQL to one connection pool per process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from trip_planner.core.urgent_pool import UrgentFirstPool


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes a writer wait instead of failing
    # with "database is locked" under concurrent conversations.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A pooled connection unused for this long is checked with a ping before use (see `_ping_if_idle`).
IDLE_PING_S = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(idle_ping_s: float) -> Any:
    """A checkout hook that pings only connections that sat idle in the pool.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip before each of the ~11
    transactions of a turn (0.1x of a turn on a local PostgreSQL, more on a remote one). What goes
    stale is an idle connection (a database restart or failover, a proxy or firewall dropping quiet
    connections), so only those are pinged. A failed ping raises DisconnectionError, which makes the
    pool drop the connection and hand out a fresh one, so the caller never sees the stale one.
    """

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_ping_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as err:
            raise DisconnectionError(f"pooled connection went stale while idle: {err}") from err

    return checkout


def _roll_back_only_an_open_transaction(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    """The pool's reset on return, for SQLite: roll back only when a transaction is really open.

    SQLAlchemy's default rolls back every connection it gets back, also after a commit or a read
    (which SQLite's driver never opened a transaction for). Through aiosqlite each rollback is a
    round trip to its thread, on the one connection every turn queues for: one in nine of a turn's
    ~90 handoffs. SQLAlchemy's documented "reset" event replaces that default; a connection handed
    back mid-write (a cancelled turn) is still rolled back, so the next user never inherits its
    transaction or its write lock. `in_transaction` only reads SQLite's autocommit flag.
    """
    if reset_state.terminate_only:
        return
    if record.driver_connection is None or record.driver_connection.in_transaction:
        dbapi_connection.rollback()


def create_engine(database_url: str, *, idle_ping_s: float = IDLE_PING_S) -> AsyncEngine:
    url = make_url(database_url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False}, pool_reset_on_return=None)
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # One connection: SQLite has one writer anyway, and a read transaction that later writes
            # (ADK's append_event does) fails at once with SQLITE_BUSY when another connection wrote
            # in between; busy_timeout does not help there. Queueing on the pool does.
            kwargs.update(connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=120,
                          poolclass=UrgentFirstPool, pool_reset_on_return=None)
    else:
        kwargs.update(pool_size=20, max_overflow=20, poolclass=UrgentFirstPool)
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if kwargs.get("poolclass") is UrgentFirstPool:
            event.listen(engine.sync_engine, "reset", _roll_back_only_an_open_transaction)
    else:
        event.listen(engine.sync_engine, "checkin", _note_checkin)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle(idle_ping_s))
    return engine

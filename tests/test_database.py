"""The shared engine's SQLite pool: a connection comes back without a transaction, and no round trip
to the driver's thread is spent rolling back one that never opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from trip_planner.core.database import create_engine


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the driver-level rollbacks (each one a handoff to aiosqlite's thread)."""
    seen: list[int] = []
    original = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> None:
        seen.append(1)
        await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    return seen


async def test_committed_work_returns_its_connection_without_a_rollback(
    tmp_path: Path, rollbacks: list[int]
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        rollbacks.clear()  # the first connection's set-up is not what is counted
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
        assert rollbacks == []
    finally:
        await engine.dispose()


async def test_a_connection_handed_back_mid_write_is_rolled_back_and_the_next_writer_is_not_blocked(
    tmp_path: Path, rollbacks: list[int]
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        rollbacks.clear()
        async with engine.connect() as conn:
            # Written past SQLAlchemy (so its own transaction bookkeeping cannot roll it back): only
            # the pool's reset on return can.
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.execute("INSERT INTO t VALUES (1)")
            assert raw.in_transaction
        assert rollbacks == [1]
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()

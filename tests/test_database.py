"""The shared engine's SQLite pool: a connection comes back without a transaction, and no round trip
to the driver's thread is spent rolling back one that never opened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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


@pytest.fixture
async def engine(tmp_path: Path, rollbacks: list[int]) -> AsyncIterator[AsyncEngine]:
    """The shared engine on a SQLite file with a table `t`; the rollbacks of its set-up not counted."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    rollbacks.clear()
    yield engine
    await engine.dispose()


async def test_committed_work_returns_its_connection_without_a_rollback(
    engine: AsyncEngine, rollbacks: list[int]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    async with engine.begin() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    assert rollbacks == []


async def test_a_connection_handed_back_mid_write_is_rolled_back_and_the_next_writer_is_not_blocked(
    engine: AsyncEngine, rollbacks: list[int]
) -> None:
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

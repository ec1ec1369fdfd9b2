"""Shared fixtures: settings on a fresh database, and a started runner on it.

Storage tests run on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set (.ci/run sets it
and fails loudly when the server is down, so CI never skips them).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

# Opik must never phone home from a test run.
os.environ.setdefault("OPIK_SENTRY_ENABLE", "false")
os.environ.setdefault("OPIK_ANALYTICS_ENABLE", "false")



def _database_per_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets a database of its own (`test_gw0`, …), created on first
    use: the storage tests reset their database's schema, and two workers sharing one would wipe
    each other's tables mid-test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, _, name = url.rpartition("/")
    database = f"{name}_{worker}"

    async def create() -> None:
        connection = await asyncpg.connect(url.replace("+asyncpg", "", 1))
        try:
            await connection.execute(f'CREATE DATABASE "{database}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{base}/{database}"


POSTGRES_URL = _database_per_worker(os.environ.get("TEST_DATABASE_URL"))


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'trip_planner.db'}"
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL not set (.ci/run sets it)")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file, for tests that are not about the storage backend."""
    return f"sqlite+aiosqlite:///{tmp_path / 'trip_planner.db'}"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, turn_timeout_s=20.0)


@pytest.fixture
async def runner(settings: Settings) -> AsyncIterator[TripPlannerRunner]:
    r = TripPlannerRunner(settings)
    await r.start()
    yield r
    await r.close()


def with_database(settings: Settings, url: str) -> Settings:
    return replace(settings, database_url=url)

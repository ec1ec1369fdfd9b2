"""One process at a time creates or upgrades the tables, so workers can start together.

ADK's `prepare_tables` and SQLAlchemy's `create_all` check for each table and then create it; two
processes doing that at the same instant on a fresh PostgreSQL database collide
(`UniqueViolationError … pg_type_typname_nsp_index`, or ADK's "Schema version not found" when one
reads the version table another has created but not yet filled). On PostgreSQL an advisory lock,
held on a connection of its own for the few hundred milliseconds of the check, serialises them; on
SQLite a lock file beside the database does.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Any constant shared by every process of the app; "trip" in ASCII.
ADVISORY_KEY = 0x74726970


@asynccontextmanager
async def schema_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                await conn.commit()
        return
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        yield
        return
    path = Path(database).expanduser().with_suffix(".schema-lock")
    handle = await asyncio.to_thread(_lock_file, path)
    try:
        yield
    finally:
        await asyncio.to_thread(_unlock_file, handle)


def _lock_file(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _unlock_file(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)

"""Alembic's environment for our tables, async-engine aware.

The app runs migrations on a connection it already holds (`config.attributes["connection"]`, a sync
facade over the async engine inside `run_sync`), so they happen inside its start-up lock and on the
same engine (an in-memory SQLite database has no other way in). Used on its own, e.g.
`alembic.command.revision(trip_planner.core.migrate.alembic_config(url), autogenerate=True)`, it
makes an async engine from `sqlalchemy.url` (or DATABASE_URL) and does the same through `run_sync`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from trip_planner.core.migrate import VERSION_TABLE, context_options, include_name
from trip_planner.core.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(**context_options(connection))
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_new_engine(url: str) -> None:
    from trip_planner.core.database import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from trip_planner.config import load_settings

    return load_settings().database_url


if context.is_offline_mode():
    context.configure(
        url=_url(),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    shared = context.config.attributes.get("connection")
    if shared is not None:
        _run(shared)
    else:
        asyncio.run(_run_on_new_engine(_url()))

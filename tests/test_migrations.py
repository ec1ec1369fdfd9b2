"""Migrations of our tables: a database made by main's schema before migrations (commit e00aa1b) is
upgraded at start-up with its rows kept; auto-migrate off or a newer schema refuse with one line; a
fresh database ends at head; and the migrations build exactly what tables.py describes.

On PostgreSQL each test gets a scratch database of its own (created and dropped here), so nothing
else on the test database is touched. ADK's tables are made by ADK, as in production.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from google.adk.sessions import DatabaseSessionService
from sqlalchemy import MetaData, inspect, insert, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests import schema_e00aa1b as old
from tests.test_concurrent_start import WORKERS, _round
from trip_planner.config import APP_NAME, Settings
from trip_planner.core import tables
from trip_planner.core.database import create_engine
from trip_planner.core.migrate import (
    BASELINE,
    VERSION_TABLE,
    SchemaError,
    alembic_config,
    context_options,
    describe,
    run_db_command,
)
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.session_manager import SessionManager

HEAD = "0002_workers"
NOW = time.time()


@pytest.fixture
async def url(database_url: str) -> AsyncIterator[str]:
    """`database_url`, but on PostgreSQL a scratch database of this test's own, dropped after."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    base = make_url(database_url)
    name = f"{base.database}_mig_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def make_e00aa1b_database(url: str) -> None:
    """What main at e00aa1b left behind: ADK's tables, ours from its `create_all`, and a conversation
    of ann's with one answered question, a thread she started, a lease and a remembered answer."""
    engine = create_engine(url)
    try:
        service = DatabaseSessionService(db_engine=engine)
        await service.prepare_tables()
        await service.create_session(app_name=APP_NAME, user_id="console:ann", session_id="s-ann")
        async with engine.begin() as conn:
            await conn.run_sync(old.metadata.create_all)
            await conn.execute(insert(old.conversations).values(
                conversation_id="conv_ann", user_id="console:ann", session_id="s-ann", status="active",
                query_count=1, created_at=NOW, updated_at=NOW,
            ))
            await conn.execute(insert(old.queries).values(
                conversation_id="conv_ann", query_num=1, query="Paris in March?", response="Lovely.", created_at=NOW
            ))
            await conn.execute(insert(old.inbound).values(
                message_id="console:m1", user_id="console:ann", text="Paris in March?", status="answered",
                answer="Lovely.", conversation_id="conv_ann", received_at=NOW, answered_at=NOW, delivered_at=NOW,
                place="console:ann-place",
            ))
            await conn.execute(insert(old.turn_leases).values(lease_key="old-lease", holder="w" * 64, expires_at=NOW))
            await conn.execute(insert(old.subscriptions).values(place="console:thread-1", user_id="console:ann", created_at=NOW))
            await conn.execute(insert(old.message_refs).values(
                message_ref="console:answer-1", conversation_id="conv_ann", user_id="console:ann", created_at=NOW
            ))
    finally:
        await engine.dispose()


def _diff(conn: Connection, target: MetaData) -> list[Any]:
    opts = {k: v for k, v in context_options(conn).items() if k not in ("connection", "target_metadata")}
    opts["compare_server_default"] = True  # attempts' default 0 fills the rows that predate it
    return list(compare_metadata(MigrationContext.configure(conn, opts=opts), target))


async def schema_diff(url: str, target: MetaData = tables.metadata) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff, target)
    finally:
        await engine.dispose()


async def recorded_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table(VERSION_TABLE)):
                return None
            return (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar_one_or_none()
    finally:
        await engine.dispose()


async def inbound_columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("tp_inbound")})
    finally:
        await engine.dispose()


def _settings(url: str, **changes: Any) -> Settings:
    return Settings(database_url=url, turn_timeout_s=30.0, **changes)


async def test_a_database_made_by_e00aa1b_is_upgraded_at_start_keeps_its_rows_and_a_turn_works(url: str) -> None:
    await make_e00aa1b_database(url)
    runner = TripPlannerRunner(_settings(url))
    await runner.start()
    try:
        reply = await runner.ask("console:ann", "What about a budget of $2,000?")
        assert reply.status == "answered", reply.text
        assert (reply.conversation_id, reply.query_num) == ("conv_ann", 2)
        assert [q["query"] for q in await runner.sessions.get_queries("console:ann")] == [
            "Paris in March?", "What about a budget of $2,000?"
        ]
        assert await runner.follows("console:thread-1")
        assert await runner.conversation_of("console:answer-1") == "conv_ann"
        async with runner.sessions.store.transaction() as conn:
            old_row = (await conn.execute(select(tables.inbound).where(tables.inbound.c.message_id == "console:m1"))).one()
            lease = (await conn.execute(select(tables.turn_leases.c.holder).where(tables.turn_leases.c.lease_key == "old-lease"))).scalar_one()
            # The widened holder column takes a worker id longer than the old 64 characters.
            await conn.execute(update(tables.turn_leases).values(holder="w" * 128))
            workers = (await conn.execute(select(tables.workers.c.worker_id))).scalars().all()
        assert (old_row.attempts, old_row.worker_id, old_row.next_attempt_at, old_row.answer) == (0, None, None, "Lovely.")
        assert lease == "w" * 64 and len(workers) == 1
    finally:
        await runner.close()
    assert await recorded_revision(url) == HEAD
    assert await schema_diff(url) == []


async def test_with_auto_migrate_off_an_older_schema_is_refused_until_db_upgrade(url: str) -> None:
    await make_e00aa1b_database(url)
    manager = SessionManager(url, auto_migrate=False)
    try:
        with pytest.raises(SchemaError) as refused:
            await manager.start()
    finally:
        await manager.close()
    line = str(refused.value)
    assert "\n" not in line and "TRIP_PLANNER_AUTO_MIGRATE=false" in line and "`trip-planner db upgrade`" in line
    assert BASELINE in line and HEAD in line
    # Refused means untouched: nothing recorded, nothing added.
    assert await recorded_revision(url) is None and "worker_id" not in await inbound_columns(url)

    assert await run_db_command(url, "current") == f"{BASELINE} (behind head {HEAD}; made before migrations, not recorded yet)"
    assert await run_db_command(url, "upgrade") == f"{BASELINE} -> {HEAD} (head)"
    assert await run_db_command(url, "upgrade") == f"{HEAD} (head; nothing to do)"
    manager = SessionManager(url, auto_migrate=False)
    try:
        await manager.start()
        assert (await manager.get_conversation_id("console:ann")) == "conv_ann"
    finally:
        await manager.close()


async def test_a_schema_newer_than_this_code_is_refused_with_one_line(url: str) -> None:
    manager = SessionManager(url)
    await manager.start()
    async with manager.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'"))
    await manager.close()
    for auto_migrate in (True, False):
        manager = SessionManager(url, auto_migrate=auto_migrate)
        try:
            with pytest.raises(SchemaError) as refused:
                await manager.start()
        finally:
            await manager.close()
        line = str(refused.value)
        assert "\n" not in line and "0099_future" in line and "newer than this version" in line
    with pytest.raises(SchemaError):
        await run_db_command(url, "upgrade")
    assert await run_db_command(url, "current") == f"0099_future (newer than this code's head {HEAD})"
    assert await recorded_revision(url) == "0099_future"


@pytest.mark.parametrize("auto_migrate", [True, False])
async def test_a_fresh_database_is_created_at_head(url: str, auto_migrate: bool) -> None:
    manager = SessionManager(url, auto_migrate=auto_migrate)
    try:
        await manager.start()
        await manager.get_or_create_session("console:zoe")
    finally:
        await manager.close()
    assert await recorded_revision(url) == HEAD
    assert await schema_diff(url) == []


async def test_a_database_recorded_at_the_baseline_is_upgraded(url: str) -> None:
    """The path every later release takes: a recorded older revision, upgraded by its revisions."""
    engine = create_engine(url)
    try:
        config = alembic_config()
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: (config.attributes.__setitem__("connection", c), command.upgrade(config, BASELINE)))
        assert await describe(engine) == f"{BASELINE} (behind head {HEAD})"
    finally:
        await engine.dispose()
    # The baseline revision builds exactly main's e00aa1b tables.
    assert await schema_diff(url, old.metadata) == []
    manager = SessionManager(url)
    try:
        await manager.start()
    finally:
        await manager.close()
    assert await recorded_revision(url) == HEAD
    assert await schema_diff(url) == []


async def test_tables_made_by_create_all_of_this_code_are_recorded_at_head(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
    finally:
        await engine.dispose()
    manager = SessionManager(url, auto_migrate=False)
    try:
        await manager.start()
    finally:
        await manager.close()
    assert await recorded_revision(url) == HEAD


async def test_tables_older_than_the_baseline_are_refused_with_one_line(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(old.metadata.create_all)
            await conn.execute(text("DROP INDEX ix_tp_inbound_place"))
            await conn.execute(text("ALTER TABLE tp_inbound DROP COLUMN place"))
    finally:
        await engine.dispose()
    manager = SessionManager(url)
    try:
        with pytest.raises(SchemaError) as refused:
            await manager.start()
    finally:
        await manager.close()
    assert "\n" not in str(refused.value) and "older than the first with migrations" in str(refused.value)


@pytest.mark.timeout(300)
async def test_workers_started_together_on_an_e00aa1b_database_upgrade_it_once_and_all_start(url: str) -> None:
    await make_e00aa1b_database(url)
    results = await _round(url)
    failed = [err.decode(errors="replace")[-2000:] for code, err in results if code != 0]
    assert not failed, f"{len(failed)} of {WORKERS} workers died:\n" + "\n---\n".join(failed)
    assert await recorded_revision(url) == HEAD and await schema_diff(url) == []
    manager = SessionManager(url)
    try:
        await manager.start()
        assert await manager.get_conversation_id("console:ann") == "conv_ann"
    finally:
        await manager.close()


async def _cli(url: str, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trip_planner.cli", *args,
        env={**os.environ, "DATABASE_URL": url, "OPIK_TRACK_DISABLE": "true", **env},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.timeout(180)
async def test_the_cli_refuses_to_start_on_an_older_schema_with_one_line_and_db_upgrade_fixes_it(url: str) -> None:
    await make_e00aa1b_database(url)
    code, _out, err = await _cli(url, "chat", "--user", "ann", TRIP_PLANNER_AUTO_MIGRATE="false")
    assert code == 2, err
    # One line says what is wrong and what to run; the rest is ordinary INFO start-up chatter.
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1 and " ERROR " in lines[0] and "run `trip-planner db upgrade`" in lines[0], err

    code, out, err = await _cli(url, "db", "upgrade")
    assert (code, out) == (0, f"{BASELINE} -> {HEAD} (head)\n"), err
    code, out, err = await _cli(url, "db", "current")
    assert (code, out) == (0, f"{HEAD} (head)\n"), err

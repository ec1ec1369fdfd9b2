"""Retention: ended and expired conversations past TRIP_PLANNER_RETENTION_DAYS go, with their ADK
sessions and events; one worker a day does it; the runner starts and stops the daily task."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.ops_world import ALICE_IDS, BOB_ID, DAVE_IDS, World, populate, settings_for
from trip_planner.config import load_settings
from trip_planner.core import retention
from trip_planner.core.database import create_engine
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.store import ConversationStore
from trip_planner.core.tables import conversations, message_refs, queries, turn_leases
from trip_planner.core.workers import Workers

APP = settings_for("sqlite://").app_name
DAY = 86400.0


async def age(engine: AsyncEngine, user_ids: tuple[str, ...], days: float) -> None:
    """Make these people's conversations `days` old (started, last active and, if ended, ended)."""
    then = time.time() - days * DAY
    async with engine.begin() as conn:
        await conn.execute(update(conversations).where(conversations.c.user_id.in_(user_ids)).values(created_at=then, updated_at=then))
        await conn.execute(
            update(conversations).where(conversations.c.user_id.in_(user_ids), conversations.c.ended_at.is_not(None)).values(ended_at=then)
        )


async def left(engine: AsyncEngine, world: World, user_id: str) -> dict[str, int]:
    """How many rows of this person's conversations remain, per table (ours and ADK's)."""
    ids = world.conversations[user_id]
    async with engine.connect() as conn:
        sessions = list((await conn.execute(select(conversations.c.session_id).where(conversations.c.conversation_id.in_(ids)))).scalars())

        async def count(statement: object) -> int:
            return int((await conn.execute(statement)).scalar_one())  # type: ignore[call-overload]

        return {
            "conversations": len(sessions),
            "queries": await count(select(func.count()).select_from(queries).where(queries.c.conversation_id.in_(ids))),
            "refs": await count(select(func.count()).select_from(message_refs).where(message_refs.c.conversation_id.in_(ids))),
            "sessions": await count(text("SELECT count(*) FROM sessions WHERE user_id = :u").bindparams(u=user_id)),
            "events": await count(text("SELECT count(*) FROM events WHERE user_id = :u").bindparams(u=user_id)),
            "user_states": await count(text("SELECT count(*) FROM user_states WHERE user_id = :u").bindparams(u=user_id)),
        }


async def test_purge_removes_old_ended_and_expired_conversations_with_their_adk_sessions(database_url: str) -> None:
    world = await populate(database_url)
    engine = create_engine(database_url)
    try:
        # Alice: ended, new-trip-ended and still-"active" (idle, so expired) conversations, 100 days old.
        await age(engine, ALICE_IDS, 100)
        # Dave: ended 30 days ago, within the retention. Bob: active today.
        await age(engine, DAVE_IDS, 30)
        kept = {u: await left(engine, world, u) for u in (BOB_ID, *DAVE_IDS)}
        assert all(v["sessions"] and v["events"] for v in kept.values())
        alice_before = {u: await left(engine, world, u) for u in ALICE_IDS}
        assert all(v["conversations"] and v["events"] and v["queries"] for v in alice_before.values())

        assert await retention.count_purgeable(engine, older_than_s=90 * DAY, idle_timeout_s=DAY) == 4
        purged = await retention.purge(engine, app_name=APP, older_than_s=90 * DAY, idle_timeout_s=DAY, batch=3)

        assert sorted(purged.conversation_ids) == sorted(c for u in ALICE_IDS for c in world.conversations[u])
        for user_id in ALICE_IDS:
            assert await left(engine, world, user_id) == dict.fromkeys(alice_before[user_id], 0)
        for user_id, counts in kept.items():
            assert await left(engine, world, user_id) == counts
        # Nothing left to do: a second run deletes nothing.
        again = await retention.purge(engine, app_name=APP, older_than_s=90 * DAY, idle_timeout_s=DAY)
        assert again.conversations == 0
    finally:
        await engine.dispose()


async def test_an_active_conversation_within_the_idle_timeout_is_never_purged(database_url: str) -> None:
    world = await populate(database_url)
    engine = create_engine(database_url)
    try:
        await age(engine, (BOB_ID,), 100)
        # An idle timeout longer than the retention: Bob's conversation has not expired, so it stays.
        purged = await retention.purge(engine, app_name=APP, older_than_s=90 * DAY, idle_timeout_s=365 * DAY)
        assert purged.conversations == 0
        assert (await left(engine, world, BOB_ID))["conversations"] == 1
    finally:
        await engine.dispose()


async def test_one_worker_purges_per_day(database_url: str) -> None:
    world = await populate(database_url)
    engine = create_engine(database_url)
    store = ConversationStore(engine)
    first, second = Workers(store, name="one"), Workers(store, name="two")
    await first.register()
    await second.register()
    try:
        await age(engine, ALICE_IDS, 100)
        done = await retention.purge_if_due(first, engine, app_name=APP, retention_days=90, idle_timeout_s=DAY)
        assert done is not None and done.conversations == 4
        await age(engine, (BOB_ID,), 100)
        # The day's lease is held by a live worker: neither the other one nor the same one purges again today.
        assert await retention.purge_if_due(second, engine, app_name=APP, retention_days=90, idle_timeout_s=DAY) is None
        assert await retention.purge_if_due(first, engine, app_name=APP, retention_days=90, idle_timeout_s=DAY) is None
        # The holder stops: the next worker to look purges (Bob's now-old conversation).
        await first.leave()
        later = await retention.purge_if_due(second, engine, app_name=APP, retention_days=90, idle_timeout_s=DAY)
        assert later is not None and later.conversation_ids == world.conversations[BOB_ID]
    finally:
        await first.leave()
        await second.leave()
        await engine.dispose()


async def test_the_runner_runs_retention_and_stops_it_on_close(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = await populate(database_url)
    engine = create_engine(database_url)
    await age(engine, ALICE_IDS, 100)
    await engine.dispose()
    monkeypatch.setattr(retention, "FIRST_CHECK_S", 0.0)
    caplog.set_level(logging.INFO, logger="trip_planner.core.retention")
    runners = [TripPlannerRunner(settings_for(database_url, retention_days=90)) for _ in range(2)]
    for r in runners:
        await r.start()
    try:
        tasks = [r._retention for r in runners]
        assert all(t is not None and not t.done() for t in tasks)
        engine = runners[0].sessions.engine

        async def purged() -> None:
            while await left(engine, world, ALICE_IDS[0]) != dict.fromkeys(("conversations", "queries", "refs", "sessions", "events", "user_states"), 0):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(purged(), timeout=60)
        async with engine.connect() as conn:
            holder = (await conn.execute(select(turn_leases.c.holder).where(turn_leases.c.lease_key == retention.RETENTION_LEASE))).scalar_one()
        assert holder in {r.workers.worker_id for r in runners}
    finally:
        for r in runners:
            await r.close()
    assert all(t is not None and t.cancelled() for t in tasks)
    # Two workers started together: one of them purged.
    assert sum("Retention: purged" in rec.getMessage() for rec in caplog.records) == 1


async def test_retention_off_starts_no_task(settings: object) -> None:
    runner = TripPlannerRunner(settings_for(settings.database_url, retention_days=0))  # type: ignore[attr-defined]
    await runner.start()
    try:
        assert runner._retention is None
    finally:
        await runner.close()


def test_retention_days_setting() -> None:
    assert load_settings({}).retention_days == 90
    assert load_settings({"TRIP_PLANNER_RETENTION_DAYS": "30"}).retention_days == 30
    assert load_settings({"TRIP_PLANNER_RETENTION_DAYS": "0"}).retention_days == 0
    with pytest.raises(ValueError, match="TRIP_PLANNER_RETENTION_DAYS"):
        load_settings({"TRIP_PLANNER_RETENTION_DAYS": "-1"})


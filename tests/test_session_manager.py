"""SessionManager: the seed's API, durable across restarts, race-free, bounded in memory.

Every test here runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import time

from sqlalchemy import func, select, update

from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import conversations


async def test_get_or_create_returns_the_same_session(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        first = await sm.get_or_create_session("u1")
        again = await sm.get_or_create_session("u1")
        assert first.id == again.id
        conv = await sm.get_conversation_id("u1")
        assert re.fullmatch(r"conv_[0-9a-f]{12}", conv)
        assert await sm.get_conversation_id("u1") == conv
    finally:
        await sm.close()


async def test_twenty_concurrent_first_calls_create_one_session(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        sessions = await asyncio.gather(*(sm.get_or_create_session("racer") for _ in range(20)))
        assert len({s.id for s in sessions}) == 1
        listed = await sm.get_session_service().list_sessions(app_name=sm.app_name, user_id="racer")
        assert len(listed.sessions) == 1
        async with sm.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(conversations))).scalar_one()
        assert count == 1
    finally:
        await sm.close()


async def test_two_managers_racing_on_one_database_create_one_session(database_url: str) -> None:
    """Two processes on one database: the unique index, not a process-local lock, decides."""
    a, b = SessionManager(database_url), SessionManager(database_url)
    try:
        await a.start()
        await b.start()
        results = await asyncio.gather(*(m.get_or_create_session("shared") for m in (a, b) for _ in range(5)))
        assert len({s.id for s in results}) == 1
    finally:
        await a.close()
        await b.close()


async def test_conversation_survives_a_restart(database_url: str) -> None:
    sm = SessionManager(database_url)
    session = await sm.get_or_create_session("u1")
    conv = await sm.get_conversation_id("u1")
    await sm.add_query_to_conversation("u1", "q1", "a1")
    await sm.add_query_to_conversation("u1", "q2", "a2")
    await sm.close()

    restarted = SessionManager(database_url)
    try:
        assert (await restarted.get_or_create_session("u1")).id == session.id
        assert await restarted.get_conversation_id("u1") == conv
        assert await restarted.get_query_count("u1") == 2
        assert await restarted.get_queries("u1") == [
            {"query": "q1", "response": "a1"},
            {"query": "q2", "response": "a2"},
        ]
    finally:
        await restarted.close()


async def test_queries_are_truncated_as_in_the_seed(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        await sm.get_or_create_session("u1")
        num = await sm.add_query_to_conversation("u1", "q" * 300, "a" * 900)
        assert num == 1
        [q] = await sm.get_queries("u1")
        assert len(q["query"]) == 200 and len(q["response"]) == 500
        await sm.add_query_to_conversation("u1", "q", "")
        assert (await sm.get_queries("u1"))[1]["response"] == "No response"
    finally:
        await sm.close()


async def test_concurrent_query_records_are_numbered_without_gaps(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        await sm.get_or_create_session("u1")
        nums = await asyncio.gather(*(sm.add_query_to_conversation("u1", f"q{i}", "a") for i in range(15)))
        assert sorted(nums) == list(range(1, 16))
        assert await sm.get_query_count("u1") == 15
    finally:
        await sm.close()


async def test_end_conversation_then_a_new_one_starts(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        first = await sm.get_or_create_session("u1")
        conv = await sm.get_conversation_id("u1")
        await sm.add_query_to_conversation("u1", "q", "a")
        ended = await sm.end_conversation("u1", "satisfied")
        assert ended is not None
        assert (ended.status, ended.end_reason, ended.feedback, ended.query_count) == ("ended", "satisfied", "satisfied", 1)
        assert ended.ended_at is not None
        assert await sm.end_conversation("u1", "satisfied") is None  # nothing left to end
        assert await sm.get_query_count("u1") == 0
        second = await sm.get_or_create_session("u1")
        assert second.id != first.id
        assert await sm.get_conversation_id("u1") != conv
    finally:
        await sm.close()


async def test_create_new_session_ends_the_previous_with_reason_new_session(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        old = await sm.get_or_create_session("u1")
        old_conv = await sm.get_conversation_id("u1")
        new = await sm.create_new_session("u1")
        assert new.id != old.id
        record = await sm.store.get_conversation(conversation_id=old_conv)
        assert record is not None and (record.status, record.end_reason) == ("ended", "new_session")
        assert (await sm.get_or_create_session("u1")).id == new.id
    finally:
        await sm.close()


async def test_idle_conversations_expire(database_url: str) -> None:
    sm = SessionManager(database_url, idle_timeout_s=3600)
    try:
        old = await sm.get_or_create_session("u1")
        conv = await sm.get_conversation_id("u1")
        async with sm.engine.begin() as conn:
            await conn.execute(
                update(conversations)
                .where(conversations.c.conversation_id == conv)
                .values(updated_at=time.time() - 7200)
            )
        fresh = await sm.get_or_create_session("u1")
        assert fresh.id != old.id
        record = await sm.store.get_conversation(conversation_id=conv)
        assert record is not None and record.end_reason == "expired"
    finally:
        await sm.close()


async def test_users_are_kept_apart(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        a = await sm.get_or_create_session("slack:T1:C1:U1")
        b = await sm.get_or_create_session("slack:T1:C1:U2")
        assert a.id != b.id
        await sm.add_query_to_conversation("slack:T1:C1:U1", "mine", "x")
        assert await sm.get_query_count("slack:T1:C1:U2") == 0
        await sm.end_conversation("slack:T1:C1:U1", "satisfied")
        assert (await sm.get_or_create_session("slack:T1:C1:U2")).id == b.id
    finally:
        await sm.close()


async def test_memory_stays_bounded(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        await asyncio.gather(*(sm.get_or_create_session(f"user{i}") for i in range(50)))
        assert len(sm._registry_locks) == 0
        sm.clear_session("user1")  # seed API: a no-op on storage
        assert await sm.get_query_count("user1") == 0
    finally:
        await sm.close()


async def test_tracing_hooks_exist_with_their_seed_signatures(database_url: str) -> None:
    sm = SessionManager(database_url)
    try:
        await sm.get_or_create_session("u1")
        assert await sm.get_conversation_trace("u1") is None  # tracing off
        assert await sm.create_query_span("u1", "q", 1) is None
        assert sm.get_session_service() is sm.session_service
    finally:
        await sm.close()

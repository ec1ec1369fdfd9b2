"""Storing inbound messages before the acknowledgement: concurrent messages share one transaction,
dedupe holds inside a batch and across them, one bad row refuses only its own message, and the
pool serves those writes ahead of turn writes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text

from trip_planner.core.database import create_engine
from trip_planner.core.store import ConversationStore
from trip_planner.core.tables import inbound
from trip_planner.core.urgent_pool import urgent


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ConversationStore]:
    engine = create_engine(database_url)
    s = ConversationStore(engine)
    await s.prepare()
    yield s
    await engine.dispose()


def row(message_id: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(message_id=message_id, user_id="slack:T1:D1:U1", text="hi", status="received",
                                  received_at=time.time())
    values.update(overrides)
    return values


async def stored_ids(store: ConversationStore) -> set[str]:
    async with store.transaction() as conn:
        return {r.message_id for r in (await conn.execute(select(inbound.c.message_id))).all()}


async def test_concurrent_messages_share_transactions_and_are_all_stored(store: ConversationStore) -> None:
    results = await asyncio.gather(*(store.inbound_writes.insert(row(f"m{i}")) for i in range(30)))
    assert results == [True] * 30
    assert await stored_ids(store) == {f"m{i}" for i in range(30)}
    assert 1 <= store.inbound_writes.batches < 30  # grouped: the first alone, the rest together


async def test_a_message_seen_twice_in_one_batch_or_later_is_stored_once(store: ConversationStore) -> None:
    first = await asyncio.gather(*(store.inbound_writes.insert(row(m)) for m in ["a", "b", "a", "c", "b"]))
    assert first == [True, True, False, True, False]
    again = await store.claim_inbound(message_id="a", user_id="slack:T1:D1:U1", text="hi")
    assert again is False
    assert await stored_ids(store) == {"a", "b", "c"}


async def test_one_bad_row_refuses_only_its_own_message(store: ConversationStore) -> None:
    results = await asyncio.gather(
        store.inbound_writes.insert(row("good-1")),
        store.inbound_writes.insert(row("good-2")),
        store.inbound_writes.insert(row("bad", user_id=None)),  # NOT NULL: the database refuses it
        store.inbound_writes.insert(row("good-3")),
        return_exceptions=True,
    )
    assert results[:2] == [True, True] and results[3] is True
    assert isinstance(results[2], Exception)
    assert await stored_ids(store) == {"good-1", "good-2", "good-3"}


async def test_an_urgent_checkout_goes_ahead_of_those_already_waiting(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")  # one connection: a queue forms
    order: list[str] = []
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            held.set()
            await release.wait()

    async def waiter(name: str, *, is_urgent: bool) -> None:
        if is_urgent:
            with urgent():
                async with engine.connect() as conn:
                    order.append(name)
                    await conn.execute(text("SELECT 1"))
        else:
            async with engine.connect() as conn:
                order.append(name)
                await conn.execute(text("SELECT 1"))

    holding = asyncio.create_task(holder())
    await held.wait()
    plain = [asyncio.create_task(waiter(f"turn-{i}", is_urgent=False)) for i in range(3)]
    await asyncio.sleep(0.05)  # they are queued for the one connection
    first_urgent = asyncio.create_task(waiter("message", is_urgent=True))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(holding, *plain, first_urgent)
    await engine.dispose()
    assert order == ["message", "turn-0", "turn-1", "turn-2"]

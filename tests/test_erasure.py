"""Erasure: after `forget`, no table (ours or ADK's) holds a row naming the person; others keep theirs."""

from __future__ import annotations

import asyncio

import pytest

from tests.ops_world import (
    ALICE_IDS,
    ALICE_SLACK,
    ALICE_WORDS,
    BOB_ID,
    BOB_WORDS,
    DAVE_DISCORD,
    DAVE_IDS,
    NOT_DAVE_IDS,
    populate,
    rows_naming,
    settings_for,
)
from trip_planner.core import erasure
from trip_planner.core.database import create_engine
from trip_planner.core.locks import ConversationLocks
from trip_planner.core.workers import Workers
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.ops import identities

APP = settings_for("sqlite://").app_name


async def test_forget_leaves_no_row_naming_the_person_in_any_table(database_url: str) -> None:
    world = await populate(database_url)
    before = await rows_naming(database_url, ALICE_WORDS)
    tables_before = {table for table, _column, _value in before}
    # The world really spreads her over our tables and ADK's: the scan would see any that were left.
    assert {"tp_conversations", "tp_queries", "tp_inbound", "tp_message_refs", "tp_subscriptions", "tp_turn_leases",
            "sessions", "events", "user_states"} <= tables_before, tables_before
    bob_before = await rows_naming(database_url, BOB_WORDS)

    engine = create_engine(database_url)
    try:
        erased = await erasure.forget(engine, ALICE_IDS, app_name=APP)
    finally:
        await engine.dispose()

    assert await rows_naming(database_url, ALICE_WORDS) == []
    expected = sorted(c for user_id in ALICE_IDS for c in world.conversations[user_id])
    assert len(expected) == 4  # two in the channel (one ended satisfied), two in the DM (a new trip)
    assert list(erased.conversation_ids) == expected
    assert erased.user_ids == tuple(sorted(ALICE_IDS))
    assert erased.rows["events"] > 0 and erased.rows["user_states"] == 2
    # Bob, in the same channel, keeps every row.
    assert sorted(await rows_naming(database_url, BOB_WORDS)) == sorted(bob_before)


async def test_the_others_conversation_continues_after_an_erasure(database_url: str) -> None:
    await populate(database_url)
    runner = TripPlannerRunner(settings_for(database_url))
    await runner.start()
    try:
        await erasure.forget(runner.sessions.engine, ALICE_IDS, app_name=APP)
        reply = await runner.ask(BOB_ID, "What would it cost?")
        assert reply.status == "answered" and "Reykjavik" in reply.text
        assert await runner.sessions.get_query_count(BOB_ID) == 2
        # The erased person starts from nothing: no conversation, no remembered preferences.
        fresh = await runner.ask(ALICE_IDS[0], "Hello, where should I go?")
        assert fresh.query_num == 1 and "JFK" not in fresh.text
    finally:
        await runner.close()


async def test_forget_is_one_transaction(database_url: str) -> None:
    """A failure half-way (here: the ADK tables refuse) leaves the person's data whole."""
    await populate(database_url)
    before = await rows_naming(database_url, ALICE_WORDS)
    engine = create_engine(database_url)
    try:
        with pytest.raises(Exception):
            await erasure.forget(engine, ALICE_IDS, app_name=object())  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    assert sorted(await rows_naming(database_url, ALICE_WORDS)) == sorted(before)


async def test_a_platform_identity_finds_every_session_user_id_of_that_person(database_url: str) -> None:
    await populate(database_url)
    engine = create_engine(database_url)
    try:
        slack = await erasure.find_user_ids(engine, identities.slack_patterns(":".join(ALICE_SLACK)), app_name=APP)
        discord = await erasure.find_user_ids(engine, identities.discord_patterns(DAVE_DISCORD), app_name=APP)
        nobody = await erasure.find_user_ids(engine, identities.slack_patterns("T9OTHER:UALICE7"), app_name=APP)
    finally:
        await engine.dispose()
    assert slack == sorted(ALICE_IDS)
    assert discord == sorted(DAVE_IDS)
    assert not set(discord) & set(NOT_DAVE_IDS)
    assert nobody == []


async def test_forget_waits_for_the_turn_in_flight(database_url: str) -> None:
    """The operator's erasure takes each person's conversation lock: while a turn holds it (here the
    runner's own lock, held as a turn holds it), nothing is erased; then everything is."""
    await populate(database_url)
    runner = TripPlannerRunner(settings_for(database_url))
    await runner.start()
    operator = Workers(runner.sessions.store, name="operator")
    await operator.register()
    try:
        async with runner.locks.hold(ALICE_IDS[1]):
            erasing = asyncio.create_task(
                erasure.forget_locked(ConversationLocks(operator, lease_s=60.0), runner.sessions.engine, ALICE_IDS, app_name=APP)
            )
            await asyncio.sleep(0.5)
            assert not erasing.done()
            assert await runner.sessions.current_conversation(ALICE_IDS[1]) is not None
        erased = await asyncio.wait_for(erasing, timeout=60)
        assert len(erased.conversation_ids) == 4
        assert await rows_naming(database_url, ALICE_WORDS) == []
    finally:
        await operator.leave()
        await runner.close()


async def test_a_message_waiting_for_its_turn_is_not_answered_after_an_erasure(database_url: str) -> None:
    """A message stored just before the erasure, still waiting for the person's lock, is erased with
    the rest and then dropped: answering it would store the person again."""
    await populate(database_url)
    runner = TripPlannerRunner(settings_for(database_url))
    await runner.start()
    operator = Workers(runner.sessions.store, name="operator")
    await operator.register()
    stored = asyncio.Event()

    async def on_accepted() -> None:
        stored.set()

    try:
        async with ConversationLocks(operator, lease_s=60.0).hold(ALICE_IDS[0]):
            waiting = asyncio.create_task(runner.ask(ALICE_IDS[0], "And Zanzibar in May?", on_accepted=on_accepted))
            await asyncio.wait_for(stored.wait(), timeout=60)
            await erasure.forget(runner.sessions.engine, ALICE_IDS, app_name=APP)
        reply = await asyncio.wait_for(waiting, timeout=60)
        assert reply.duplicate and reply.text == ""
        assert await rows_naming(database_url, ALICE_WORDS) == []
    finally:
        await operator.leave()
        await runner.close()


def test_identity_patterns_refuse_what_is_not_an_identity() -> None:
    for bad in ("UALICE7", "T1:U1:X", "T1:%", "T1:U*"):
        with pytest.raises(ValueError):
            identities.slack_patterns(bad)
    with pytest.raises(ValueError):
        identities.discord_patterns("12*")
    assert erasure.pattern_regex("slack:T1:*:U1").fullmatch("slack:T1:C9:U1")
    assert not erasure.pattern_regex("slack:T1:*:U1").fullmatch("slack:T1:C9:X:U1")


def test_the_patterns_match_the_ids_the_adapters_build() -> None:
    """If an adapter changes its session user id format, this fails: change trip_planner/ops/identities.py too."""
    from bots.discord import identity as discord_identity
    from bots.slack import identity as slack_identity

    slack = [erasure.pattern_regex(p) for p in identities.slack_patterns("T1ACME:UALICE7")]
    for channel in ("C1GEN", "D1DM"):
        assert any(r.fullmatch(slack_identity.session_user_id("T1ACME", channel, "UALICE7")) for r in slack)
    assert not any(r.fullmatch(slack_identity.session_user_id("T1ACME", "C1GEN", "UBOBBY8")) for r in slack)
    discord = [erasure.pattern_regex(p) for p in identities.discord_patterns(DAVE_DISCORD)]
    assert any(r.fullmatch(discord_identity.session_user_id(user_id=int(DAVE_DISCORD))) for r in discord)
    assert any(r.fullmatch(discord_identity.session_user_id(user_id=int(DAVE_DISCORD), guild_id=555, channel_id=777)) for r in discord)
    assert not any(r.fullmatch(discord_identity.session_user_id(user_id=int(DAVE_DISCORD + "0"))) for r in discord)

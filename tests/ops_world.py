"""A database with a few people's real conversations, for the operator tests (erasure, retention,
`trip-planner sessions`), and a scan of every table for rows naming someone.

The conversations are made by the real TripPlannerRunner on the offline planner (FlakyModel: the
offline planner, except that "EXPLODE" fails the turn), delivered through the in-memory channel so
message refs are remembered, with thread subscriptions, reactions, `user:` preferences, a new trip,
a failed turn and a lease left behind by a worker that stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.channel_double import MemoryChannel
from tests.flaky_model import FlakyModel
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.channel import Inbound
from trip_planner.core.messages import Reaction
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.tables import conversations

# Session user ids built the adapters' way (bots/slack/identity.py, bots/discord/identity.py).
ALICE_SLACK = ("T1ACME", "UALICE7")
ALICE_IDS = ("slack:T1ACME:C1GEN:UALICE7", "slack:T1ACME:D1DM:UALICE7")
ALICE_WORDS = ("UALICE7", "Zanzibar")  # what names her: her Slack id, and a place only she spoke of
BOB_ID = "slack:T1ACME:C1GEN:UBOBBY8"  # same channel as Alice
BOB_WORDS = ("UBOBBY8", "Reykjavik")
# Realistic snowflakes: a short id like "4242" would also turn up inside the random hex of other
# rows' ids (session ids, trace ids), and a table scan for it would find it by chance.
DAVE_DISCORD = "424242424242424242"
DAVE_IDS = (f"discord:{DAVE_DISCORD}", f"discord:555:777:{DAVE_DISCORD}")
# Not Dave: a longer snowflake starting the same way, and the same digits in another field.
NOT_DAVE_IDS = (f"discord:{DAVE_DISCORD}0", f"discord:555:{DAVE_DISCORD}:99")


def settings_for(url: str, **changes: Any) -> Settings:
    # Per-person limits off: the world sends one person's messages back to back.
    values: dict[str, Any] = {"database_url": url, "turn_timeout_s": 30.0, "max_waiting_per_person": 1000, "messages_per_minute": 1000}
    values.update(changes)
    return Settings(**values)


@dataclass
class World:
    conversations: dict[str, list[str]] = field(default_factory=dict)  # user id -> conversation ids


class Speaker:
    def __init__(self, runner: TripPlannerRunner, channel: MemoryChannel) -> None:
        self.runner, self.channel, self.n = runner, channel, 0

    async def say(self, user_id: str, text: str, *, place: str) -> str:
        """One message through the whole pipeline; returns the ref of the answer's first part."""
        self.n += 1
        message_id = f"{place}:1700000{self.n:03d}.000100"
        person = user_id.rsplit(":", 1)[-1]
        inbound = Inbound(
            message_id=message_id,
            user_id=user_id,
            text=text,
            place=place,
            follows=f"{place}-thread:{message_id}:{person}",  # the thread it starts, as Slack's adapter does
            reply_to={"channel": place, "user": person},
        )
        await self.runner.handle(inbound, self.channel)
        return f"{message_id}#0"


async def populate(url: str) -> World:
    runner = TripPlannerRunner(settings_for(url), agent=build_concierge(FlakyModel()))
    await runner.start()
    world = World()
    try:
        talk = Speaker(runner, MemoryChannel(platform="slack"))
        c1, d1 = "slack:T1ACME:C1GEN", "slack:T1ACME:D1DM"
        alice_c1, alice_dm = ALICE_IDS
        ref = await talk.say(alice_c1, "I want to plan a trip to Zanzibar in March", place=c1)
        await talk.say(alice_c1, "My home airport is JFK and I always prefer luxury hotels", place=c1)
        assert await runner.react(Reaction(user_id=alice_c1, message_ref=ref, emoji="+1")) == "satisfied"
        await talk.say(alice_c1, "Now Zanzibar in July, please", place=c1)
        await talk.say(alice_dm, "Zanzibar for 5 days?", place=d1)
        await talk.say(alice_dm, "new trip", place=d1)
        await talk.say(alice_dm, "EXPLODE Zanzibar", place=d1)

        bob_ref = await talk.say(BOB_ID, "Plan a trip to Reykjavik in June", place=c1)
        assert await runner.react(Reaction(user_id=BOB_ID, message_ref=bob_ref, emoji="-1")) == "unsatisfied"

        discord = Speaker(runner, MemoryChannel(platform="discord"))
        for n, user_id in enumerate(DAVE_IDS + NOT_DAVE_IDS):
            await discord.say(user_id, "A weekend in Lisbon", place=f"discord:{9000 + n}")
        await runner.end_conversation(DAVE_IDS[0], "satisfied")

        for user_id in (alice_c1, alice_dm, BOB_ID, *DAVE_IDS, *NOT_DAVE_IDS):
            async with runner.sessions.store.transaction() as conn:
                world.conversations[user_id] = list(
                    (await conn.execute(select(conversations.c.conversation_id).where(conversations.c.user_id == user_id))).scalars()
                )
        # A lease left behind by a worker that stopped mid-turn (its row goes when it closes).
        assert await runner.workers.try_lease(key=alice_c1, lease_s=600.0)
    finally:
        await runner.close()
    return world


async def rows_naming(url: str, words: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) in EVERY table of the database whose value contains one of
    `words`: tables found by inspection (ours and ADK's), all columns, every value as text (JSON
    and pickled values included)."""
    return await rows_matching(url, re.compile("|".join(re.escape(w) for w in words)))


async def rows_matching(url: str, pattern: re.Pattern[str]) -> list[tuple[str, str, str]]:
    """`rows_naming` with a regular expression (e.g. a snowflake not followed by another digit)."""
    engine = create_async_engine(url)
    found: list[tuple[str, str, str]] = []
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert {"sessions", "events", "user_states", "tp_conversations", "tp_inbound"} <= set(names), names
            for name in names:
                table = await conn.run_sync(lambda sync, n=name: Table(n, MetaData(), autoload_with=sync))
                for row in (await conn.execute(select(table))).all():
                    for column, value in row._mapping.items():
                        raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None
                        text = raw.decode("latin-1") if raw is not None else str(value)
                        if pattern.search(text):
                            found.append((name, str(column), text[:80]))
    finally:
        await engine.dispose()
    return found

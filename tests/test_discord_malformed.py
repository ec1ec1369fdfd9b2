"""Malformed gateway payloads on Discord: each is logged once (no payload text) and dropped, and the
bot keeps answering. A real discord.py client against the stand-in, which sends the broken events
over the real gateway websocket."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.standins.discord import DIRECT_MESSAGES, DiscordStandIn
from tests.standins.discord_harness import TOKEN, running_bot
from trip_planner.config import Settings

ALICE = 420000000000000001
SECRET = "PAYLOAD-TEXT-7f3a"  # in every broken payload: must never reach a log line


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        yield standin


def broken_messages(standin: DiscordStandIn) -> list[Any]:
    """MESSAGE_CREATE payloads discord.py cannot read: missing fields, wrong types, not an object."""
    channel = standin.dm_channel(ALICE)

    def dm(**changes: Any) -> dict[str, Any]:
        data = standin.message_payload(channel_id=channel, author=standin.user(ALICE), content=f"Rome {SECRET}")
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    return [
        dm(author=None),  # missing field
        dm(id=f"not-a-snowflake-{SECRET}"),  # wrong type inside a string
        dm(author=f"{SECRET}"),  # wrong type: a string where an object belongs
        dm(content=12345),  # a wrong type the parser does not check (our listener meets it)
        [f"{SECRET}"],  # not an object at all
    ]


def broken_interactions(standin: DiscordStandIn) -> list[Any]:
    channel = standin.dm_channel(ALICE)
    return [
        {"type": 2, "token": SECRET, "channel_id": str(channel)},  # no id, no application id, no user
        {"id": f"x{SECRET}", "application_id": "1", "type": "two", "token": SECRET, "version": 1},
        {"id": str(standin.snowflake()), "application_id": str(standin.application_id), "type": 2, "token": SECRET,
         "version": 1, "channel_id": str(channel), "user": standin.user(ALICE), "data": {"name": None, "type": "x"}},
    ]


async def test_malformed_events_are_dropped_and_the_next_dm_is_answered(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        caplog.clear()
        caplog.set_level(logging.INFO)  # (discord.py logs whole payloads at DEBUG, by design)
        events = [("MESSAGE_CREATE", d) for d in broken_messages(discord_standin)]
        events += [("INTERACTION_CREATE", d) for d in broken_interactions(discord_standin)]
        for event, data in events:
            assert await discord_standin.dispatch(event, data, intent=DIRECT_MESSAGES if event == "MESSAGE_CREATE" else 0)

        channel = discord_standin.dm_channel(ALICE)
        await discord_standin.send_dm(ALICE, "Plan a trip to Lisbon in June")
        await discord_standin.wait_until(lambda: discord_standin.sent_messages(channel), what="an answer to the valid DM")
        assert "Lisbon" in discord_standin.sent_messages(channel)[0]["content"]
        assert len(discord_standin.sent_messages(channel)) == 1, "no broken event was answered"
        assert not bot.task.done(), "the client is still connected"
        assert len(discord_standin.sessions) == 1, "the gateway connection was never dropped"

        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == len(events), [r.getMessage() for r in warnings]
        assert all(r.levelno == logging.WARNING and not r.exc_info for r in warnings), "one WARNING each, no traceback"
        assert all(SECRET not in r.getMessage() for r in caplog.records), "no payload text in any INFO or higher line"
        assert not any(r.exc_info and SECRET in str(r.exc_info[1]) for r in caplog.records)

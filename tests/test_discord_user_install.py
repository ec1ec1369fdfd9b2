"""`/trip plan|new|end` for a user-installed app: in a DM or group DM with someone who shares no
server with the bot, the bot reads and posts nothing in the channel; it answers through the
interaction (a deferral at once, then follow-ups on the webhook), exactly once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bots.discord import inbound_message_id
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN, running_bot
from trip_planner.config import Settings
from trip_planner.core.channel import Inbound
from trip_planner.core.replies import NEW_TRIP, SATISFIED

ALICE = 420000000000000001
GROUP_DM = 1500000000000000001  # a group DM of Alice's friends: the bot is not a member


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        yield standin


def plan(request: str) -> list[dict[str, object]]:
    return [{"type": 1, "name": "plan", "options": [{"type": 3, "name": "request", "value": request}]}]


async def test_trip_is_registered_for_user_installs_in_every_context(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings):
        synced = discord_standin.calls_to("PUT", r"/applications/\d+/commands")[0].body
        trip = next(c for c in synced if c["name"] == "trip")
        assert sorted(trip["integration_types"]) == [0, 1]  # server install and user install
        assert sorted(trip["contexts"]) == [0, 1, 2]  # servers, the bot's DMs, other DMs and group DMs
        assert {o["name"] for o in trip["options"]} == {"plan", "new", "end"}


async def test_trip_plan_in_a_group_dm_is_answered_through_the_interaction_once(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        interaction = await discord_standin.invoke_command(
            "trip", user_id=ALICE, channel_id=GROUP_DM, group_dm=True, options=plan("5 days in Lisbon in May for 2")
        )
        calls = await discord_standin.wait_until(
            lambda: len(discord_standin.interaction_calls(interaction)) >= 2 and discord_standin.interaction_calls(interaction),
            what="the deferral and the answer",
        )
        defer, answer = calls[0], calls[1]
        assert defer.path.endswith("/callback") and defer.body["type"] == 5
        assert answer.method == "POST" and answer.path.startswith("/webhooks/")
        assert "Lisbon" in answer.body["content"] and answer.body["allowed_mentions"] == {"parse": []}
        # Nothing went to the channel itself (the bot may not post or type there).
        assert not discord_standin.calls_to("POST", rf"/channels/{GROUP_DM}/.*")
        store = bot.runner.sessions.store
        key = inbound_message_id(int(interaction.id))

        async def delivered() -> bool:
            record = await store.get_inbound(message_id=key)
            return record is not None and record.status == "answered" and record.delivered_at is not None

        for _ in range(500):  # bounded polling: the webhook call is seen before it is recorded
            if await delivered():
                break
            await asyncio.sleep(0.02)
        assert await delivered(), "the answer was not recorded as delivered"
        record = await store.get_inbound(message_id=key)
        assert record is not None and record.user_id == f"discord:{ALICE}"

        # The same conversation continues, and `/trip new` / `/trip end` act on it.
        follow = await discord_standin.invoke_command(
            "trip", user_id=ALICE, channel_id=GROUP_DM, group_dm=True, options=plan("What about hotels?")
        )
        calls = await discord_standin.wait_until(
            lambda: len(discord_standin.interaction_calls(follow)) >= 2 and discord_standin.interaction_calls(follow),
            what="the second answer",
        )
        assert "Lisbon" in calls[1].body["content"]
        for word, reply in (("new", NEW_TRIP), ("end", SATISFIED)):
            command = await discord_standin.invoke_command(
                "trip", user_id=ALICE, channel_id=GROUP_DM, group_dm=True, options=[{"type": 1, "name": word}]
            )
            done = await discord_standin.wait_until(lambda: discord_standin.interaction_calls(command), what=f"/trip {word}")
            assert done[0].body["data"]["content"] == reply
        assert len([c for c in discord_standin.calls if c.path.startswith("/webhooks/")]) == 2  # one answer each


async def test_an_expired_interaction_is_given_up_not_retried(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A follow-up after the token expired (a sweep after a long outage): Discord answers 404 Unknown
    Webhook; the answer is given up with a WARNING and marked done, not retried for days."""
    async with running_bot(discord_standin, settings) as bot:
        gone = Inbound("discord:1", f"discord:{ALICE}", "Rome for 3 days", reply_to={
            "application_id": str(discord_standin.application_id), "interaction_token": "expired-token"})
        accepted = await bot.runner.accept(gone)
        assert accepted is not None
        await bot.runner.answer(accepted, bot.client.channel)
        record = await bot.runner.sessions.store.get_inbound(message_id="discord:1")
        assert record is not None and record.delivered_at is not None
        assert any("Giving up" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)

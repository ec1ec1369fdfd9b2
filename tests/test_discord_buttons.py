"""Discord's 👍 Done / 👎 Rework buttons, end to end: the real discord.py client sends them under an
answer, and INTERACTION_CREATE (message component) clicks from the stand-in go through the same core
path as reactions, answered at the interaction callback endpoint first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.discord import session_user_id
from tests.standins.discord import DiscordStandIn, RestCall
from tests.standins.discord_harness import TOKEN, long_answer_agent, running_bot
from tests.test_discord import ALICE, BOB, CHANNEL, GUILD, contents, dm_answer
from trip_planner.config import Settings
from trip_planner.core.replies import NOT_YOUR_TRIP, SATISFIED, UNSATISFIED


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        standin.add_guild(GUILD, channels=[CHANNEL])
        yield standin


def custom_ids(standin: DiscordStandIn, channel_id: int, message_id: int) -> list[str]:
    return [b["custom_id"] for b in standin.buttons_of(channel_id, message_id)]


def answered_calls(standin: DiscordStandIn, interaction: object) -> list[RestCall]:
    return standin.interaction_calls(interaction)  # type: ignore[arg-type]


async def test_an_answer_has_done_and_rework_buttons_on_its_last_piece_only(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings, agent=long_answer_agent()):
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
        channel = discord_standin.dm_channel(ALICE)
        assert custom_ids(discord_standin, channel, answer["message_id"]) == ["trip:done", "trip:rework"]
        labels = [(b["label"], b["emoji"]["name"]) for b in discord_standin.buttons_of(channel, answer["message_id"])]
        assert labels == [("Done", "👍"), ("Rework", "👎")]

        await discord_standin.send_dm(ALICE, "LONG please")
        await discord_standin.wait_until(lambda: len(discord_standin.sent_messages(channel)) >= 4, what="the long answer")
        pieces = [int(m["id"]) for m in discord_standin.channel_messages[channel].values() if int(m["author"]["id"]) == discord_standin.bot_id]
        assert [bool(custom_ids(discord_standin, channel, p)) for p in pieces] == [True] + [False] * (len(pieces) - 2) + [True]


async def test_done_closes_the_trip_once_acknowledged_first(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
        channel = discord_standin.dm_channel(ALICE)
        click = await discord_standin.click_button(user_id=ALICE, channel_id=channel, message_id=answer["message_id"], custom_id="trip:done")
        await discord_standin.wait_until(lambda: SATISFIED in contents(discord_standin, channel), what="the confirmation")
        [callback] = answered_calls(discord_standin, click)
        assert callback.path.endswith("/callback") and callback.body["type"] == 6  # deferred update, the message stays
        confirmation = next(c for c in discord_standin.calls_to("POST", rf"/channels/{channel}/messages") if c.body["content"] == SATISFIED)
        assert callback.seq < confirmation.seq, "the click is acknowledged before the work"
        assert await bot.runner.sessions.current_conversation(f"discord:{ALICE}") is None

        # A double click: acknowledged, nothing more.
        again = await discord_standin.click_button(user_id=ALICE, channel_id=channel, message_id=answer["message_id"], custom_id="trip:done")
        await discord_standin.wait_until(lambda: answered_calls(discord_standin, again), what="the second click's ack")
        await dm_answer(discord_standin, ALICE, "Hello")  # control: later events were handled
        assert contents(discord_standin, channel).count(SATISFIED) == 1


async def test_rework_asks_once_and_keeps_the_trip(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
        channel = discord_standin.dm_channel(ALICE)
        for _ in range(2):
            await discord_standin.click_button(user_id=ALICE, channel_id=channel, message_id=answer["message_id"], custom_id="trip:rework")
        await discord_standin.wait_until(lambda: UNSATISFIED in contents(discord_standin, channel), what="the question")
        await dm_answer(discord_standin, ALICE, "Hello")
        assert contents(discord_standin, channel).count(UNSATISFIED) == 1
        current = await bot.runner.sessions.current_conversation(f"discord:{ALICE}")
        assert current is not None and current.feedback == "unsatisfied"


async def test_someone_else_gets_a_private_reply_and_changes_nothing(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        await discord_standin.send_server_message(guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="Plan Rome")
        await discord_standin.wait_until(lambda: discord_standin.sent_messages(CHANNEL), what="the answer")
        answer = next(int(m["id"]) for m in discord_standin.channel_messages[CHANNEL].values() if m.get("components"))
        click = await discord_standin.click_button(user_id=BOB, channel_id=CHANNEL, message_id=answer, custom_id="trip:done", guild_id=GUILD)
        calls = await discord_standin.wait_until(lambda: len(answered_calls(discord_standin, click)) >= 2 and answered_calls(discord_standin, click), what="ack and note")
        assert calls[0].body["type"] == 6
        assert calls[1].path.startswith("/webhooks/") and calls[1].body["content"] == NOT_YOUR_TRIP
        assert calls[1].body["flags"] & 64  # ephemeral: only Bob sees it
        assert NOT_YOUR_TRIP not in contents(discord_standin, CHANNEL) and SATISFIED not in contents(discord_standin, CHANNEL)
        alice = session_user_id(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
        assert await bot.runner.sessions.current_conversation(alice) is not None

        # Alice's click closes it, confirmed as a reply to the answer.
        await discord_standin.click_button(user_id=ALICE, channel_id=CHANNEL, message_id=answer, custom_id="trip:done", guild_id=GUILD)
        await discord_standin.wait_until(lambda: SATISFIED in contents(discord_standin, CHANNEL), what="the confirmation")
        assert await bot.runner.sessions.current_conversation(alice) is None


async def test_a_click_after_a_restart_still_works(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings):
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
    channel = discord_standin.dm_channel(ALICE)
    async with running_bot(discord_standin, settings) as bot:  # a new process: nothing in its cache
        click = await discord_standin.click_button(user_id=ALICE, channel_id=channel, message_id=answer["message_id"], custom_id="trip:done")
        await discord_standin.wait_until(lambda: SATISFIED in contents(discord_standin, channel), what="the confirmation")
        assert answered_calls(discord_standin, click)[0].body["type"] == 6
        assert await bot.runner.sessions.current_conversation(f"discord:{ALICE}") is None


async def test_reactions_still_work_on_an_answer_with_buttons(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
        channel = discord_standin.dm_channel(ALICE)
        assert custom_ids(discord_standin, channel, answer["message_id"])
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=answer["message_id"], emoji="👍")
        await discord_standin.wait_until(lambda: SATISFIED in contents(discord_standin, channel), what="the confirmation")
        assert await bot.runner.sessions.current_conversation(f"discord:{ALICE}") is None

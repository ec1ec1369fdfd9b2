""""Forget me" from the chat itself, on every platform: a first command explains and names the exact
confirmation; the confirmation erases every id of that person on that platform (their DM and each
channel), and a scan of every table (ours and ADK's) finds nothing of them; others keep theirs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.console import run_console
from bots.discord import session_user_id as discord_user_id
from bots.slack import session_user_id as slack_user_id
from tests.ops_world import rows_naming
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN, running_bot
from tests.standins.slack import SlackStandIn, slack_standin  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import Bot, bot, command_reply  # noqa: F401  (the `bot` fixture)
from trip_planner.config import Settings
from trip_planner.core import replies
from trip_planner.core.runner import TripPlannerRunner

ALICE_S, BOB_S, DM, CHANNEL = "U0ALICE001", "U0BOB00001", "D0ALICEDM1", "C0GENERAL1"


async def test_slack_trip_forget_asks_then_erases_every_channel_of_the_person(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner, settings: Settings
) -> None:
    await bot.dm("I want to go to Lisbon for 4 days in May")
    await runner.ask(slack_user_id(slack.team_id, CHANNEL, ALICE_S), "Plan Rome in June")  # as a mention would
    await runner.ask(slack_user_id(slack.team_id, CHANNEL, BOB_S), "Plan Oslo in July")
    alice = [slack_user_id(slack.team_id, DM, ALICE_S), slack_user_id(slack.team_id, CHANNEL, ALICE_S)]
    assert all([await runner.sessions.current_conversation(a) for a in alice])

    status, body = await slack.send_command(bot.url, user=ALICE_S, channel=DM, text="forget")
    assert status == 200 and command_reply(body) == replies.forget_confirm("/trip forget confirm")
    assert await rows_naming(settings.database_url, (ALICE_S,)), "nothing erased before the confirmation"

    status, body = await slack.send_command(bot.url, user=ALICE_S, channel=DM, text="forget  confirm")
    assert status == 200 and command_reply(body) == replies.FORGOTTEN
    assert await rows_naming(settings.database_url, (ALICE_S,)) == []
    assert await runner.sessions.current_conversation(slack_user_id(slack.team_id, CHANNEL, BOB_S)) is not None

    again = await bot.dm("Hello")  # she can start afresh
    assert again["text"]


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        standin.add_guild(1300000000000000000, channels=[1400000000000000000])
        yield standin


async def test_discord_forget_asks_then_erases_dms_and_server_channels(discord_standin: DiscordStandIn, settings: Settings) -> None:
    alice, bob, guild, channel = 420000000000000001, 420000000000000002, 1300000000000000000, 1400000000000000000
    async with running_bot(discord_standin, settings) as running:
        runner = running.runner
        await runner.ask(discord_user_id(user_id=alice), "Plan Lisbon in May")
        await runner.ask(discord_user_id(user_id=alice, guild_id=guild, channel_id=channel), "Plan Rome in June")
        await runner.ask(discord_user_id(user_id=bob), "Plan Oslo in July")

        async def forget(**options: Any) -> dict[str, Any]:
            opts = [{"type": 5, "name": "confirm", "value": True}] if options.get("confirm") else None
            interaction = await discord_standin.invoke_command("forget", user_id=alice, options=opts)
            calls = await discord_standin.wait_until(lambda: discord_standin.interaction_calls(interaction), what="/forget")
            return calls[0].body

        first = await forget()
        assert first["data"]["content"] == replies.forget_confirm("/forget confirm:True") and first["data"]["flags"] & 64
        assert await rows_naming(settings.database_url, (str(alice),))
        done = await forget(confirm=True)
        assert done["data"]["content"] == replies.FORGOTTEN
        assert await rows_naming(settings.database_url, (str(alice),)) == []
        assert await runner.sessions.current_conversation(discord_user_id(user_id=bob)) is not None


async def test_console_forget_asks_then_erases(settings: Settings) -> None:
    lines = io.StringIO("Plan Lisbon in May\n/forget\n/forget confirm\n")
    out = io.StringIO()
    await run_console(settings, name="alice", stdin=lines, stdout=out)
    text = out.getvalue()
    assert replies.forget_confirm("/forget confirm") in text and replies.FORGOTTEN in text
    assert await rows_naming(settings.database_url, ("console:alice",)) == []

"""End to end: a real discord.py client over real sockets, a real TripPlannerRunner on a temp SQLite,
and the Discord stand-in in tests/standins/discord.py. Nothing of ours is mocked.

Waits are bounded polls on observable state (REST calls the stand-in recorded, events the client has
finished handling), never sleeps followed by assertions.
"""

from __future__ import annotations

import asyncio

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from trip_planner.core.replies import NEW_TRIP as NEW_TRIP_REPLY
from trip_planner.core.replies import NOTHING_TO_END as NO_TRIP_REPLY
from trip_planner.core.replies import SATISFIED as END_TRIP_REPLY
from bots.discord import (
    ShardedPlannerClient,
    answer_nonce,
    answer_ref,
    inbound_message_id,
    session_user_id,
)
from tests.standins.discord import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILDS,
    MESSAGE_CONTENT,
    DiscordStandIn,
)
from tests.standins.discord_harness import (
    TOKEN,
    RunningBot,
    long_answer_agent,
    running_bot,
)
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import ConfigError, Settings
from trip_planner.core.replies import SATISFIED as SATISFIED_REPLY
from trip_planner.core.replies import UNSATISFIED as UNSATISFIED_REPLY
from trip_planner.models.offline import OfflinePlannerModel

ALICE = 420000000000000001
BOB = 420000000000000002
OTHER_BOT = 420000000000000099
GUILD = 1300000000000000000  # (GUILD >> 22) % 2 == 0
CHANNEL = 1400000000000000000
ODD_GUILD = GUILD + (1 << 22)  # (ODD_GUILD >> 22) % 2 == 1: shard 1 of 2
ODD_CHANNEL = 1400000000000000001


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        standin.add_guild(GUILD, channels=[CHANNEL])  # the bot is in one server
        yield standin


def contents(standin: DiscordStandIn, channel_id: int | None = None) -> list[str]:
    return [m["content"] for m in standin.sent_messages(channel_id)]


async def handled(standin: DiscordStandIn, bot: RunningBot, kind: str, count: int) -> None:
    await standin.wait_until(lambda: bot.client.handled[kind] >= count, what=f"{count} {kind} event(s) handled")


async def dm_answer(standin: DiscordStandIn, user_id: int, text: str) -> dict:
    """Send a DM and return the bot's (single) answer message as the stand-in created it."""
    channel = standin.dm_channel(user_id)
    before = len(standin.sent_messages(channel))
    sent = await standin.send_dm(user_id, text)
    await standin.wait_until(lambda: len(standin.sent_messages(channel)) > before, what=f"an answer to {text!r}")
    call = [c for c in standin.calls_to("POST", rf"/channels/{channel}/messages") if c.seq in standin.created_ids][before]
    assert call.body["content"]
    return {"request": call.body, "inbound": sent, "message_id": _created_id(standin, call.seq)}


def _created_id(standin: DiscordStandIn, seq: int) -> int:
    """The id the stand-in gave the message created by REST call `seq` (it echoes it on the gateway)."""
    return standin.created_ids[seq]


# -- DMs --------------------------------------------------------------------------------------------


async def test_dm_is_answered_with_typing_and_no_mentions(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        answer = await dm_answer(discord_standin, ALICE, "I'd like to go to Paris in May @everyone")
        channel = discord_standin.dm_channel(ALICE)

        assert "Paris" in answer["request"]["content"]
        assert answer["request"]["allowed_mentions"] == {"parse": []}
        assert "message_reference" not in answer["request"]  # a DM answer is a plain message
        typing = discord_standin.calls_to("POST", rf"/channels/{channel}/typing")
        post = discord_standin.calls_to("POST", rf"/channels/{channel}/messages")[0]
        assert typing and typing[0].seq < post.seq, "typing is shown while the planner works"

        # The core saw the DM as discord:{user} with the message id as dedupe key.
        record = await bot.runner.sessions.store.get_inbound(message_id=inbound_message_id(int(answer["inbound"]["id"])))
        assert record is not None and record.user_id == f"discord:{ALICE}" and record.status == "answered"

        # Intents: exactly DMs, DM reactions, and server messages/reactions for mentions; nothing privileged.
        session = discord_standin.sessions[0]
        assert session.intents == GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | DIRECT_MESSAGES | DIRECT_MESSAGE_REACTIONS
        assert not session.intents & MESSAGE_CONTENT
        # Heartbeats are sent and acknowledged (the stand-in uses a 1 s interval).
        await discord_standin.wait_until(lambda: session.heartbeats >= 1, what="a heartbeat")
        # Start-up: the token reached REST as "Bot <token>", commands were synced.
        assert all(c.authorization == f"Bot {TOKEN}" for c in discord_standin.calls_to("GET", r"/users/@me"))
        synced = discord_standin.calls_to("PUT", r"/applications/\d+/commands")
        assert {c["name"] for c in synced[0].body} == {"newtrip", "endtrip", "trip", "forget"}
        assert all(1 in c["contexts"] for c in synced[0].body), "the commands work in the bot's DMs"


async def test_own_and_other_bots_messages_are_ignored(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        await dm_answer(discord_standin, ALICE, "Plan a trip to Rome")
        # The stand-in echoes our answer back as MESSAGE_CREATE, as Discord does: 2 messages seen.
        await handled(discord_standin, bot, "message", 2)
        other = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=OTHER_BOT, content="Rome please", bot_author=True
        )
        await handled(discord_standin, bot, "message", 3)

        assert len(discord_standin.sent_messages()) == 1
        echo_id = discord_standin.created_ids[discord_standin.calls_to("POST", r"/channels/\d+/messages")[0].seq]
        store = bot.runner.sessions.store
        assert await store.get_inbound(message_id=inbound_message_id(echo_id)) is None
        assert await store.get_inbound(message_id=inbound_message_id(int(other["id"]))) is None


async def test_replayed_message_gets_exactly_one_answer_even_after_restart(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        first = await dm_answer(discord_standin, ALICE, "Plan a trip to Tokyo")
        replay_id = int(first["inbound"]["id"])
        await discord_standin.send_dm(ALICE, "Plan a trip to Tokyo", message_id=replay_id)  # a resume replays it
        await handled(discord_standin, bot, "message", 3)  # first, our echo, the replay
        assert len(discord_standin.sent_messages()) == 1

    async with running_bot(discord_standin, settings) as bot:  # a new process on the same database
        await discord_standin.send_dm(ALICE, "Plan a trip to Tokyo", message_id=replay_id)
        await handled(discord_standin, bot, "message", 1)
        assert len(discord_standin.sent_messages()) == 1
    # Nor does a replay show "typing…": only the first delivery did.
    channel = discord_standin.dm_channel(ALICE)
    assert len(discord_standin.calls_to("POST", rf"/channels/{channel}/typing")) == 1


async def test_conversation_keeps_context_across_restart_and_thumbs_up_closes_it(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        first = await dm_answer(discord_standin, ALICE, "I want to go to Lisbon")
        assert "Lisbon" in first["request"]["content"]
        record = await bot.runner.sessions.current_conversation(f"discord:{ALICE}")
        assert record is not None
        conversation = record.conversation_id

    async with running_bot(discord_standin, settings) as bot:  # restart: new runner and client, same DB
        second = await dm_answer(discord_standin, ALICE, "in June for 5 days")
        assert "Lisbon" in second["request"]["content"] and "June" in second["request"]["content"]
        current = await bot.runner.sessions.current_conversation(f"discord:{ALICE}")
        assert current is not None and current.conversation_id == conversation

        # 👍 (with a skin tone) on the answer sent before the restart: not in this client's cache.
        channel = discord_standin.dm_channel(ALICE)
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first["message_id"], emoji="👍🏽")
        await discord_standin.wait_until(lambda: SATISFIED_REPLY in contents(discord_standin, channel), what="the confirmation")
        assert await bot.runner.sessions.current_conversation(f"discord:{ALICE}") is None

        # /newtrip then starts over: the next answer knows nothing of Lisbon.
        interaction = await discord_standin.invoke_command("newtrip", user_id=ALICE)
        await discord_standin.wait_until(lambda: discord_standin.interaction_calls(interaction), what="the /newtrip answer")
        third = await dm_answer(discord_standin, ALICE, "for 3 days")
        assert "Lisbon" not in third["request"]["content"]


# -- servers ----------------------------------------------------------------------------------------


async def test_server_mentions_are_answered_as_replies_per_person(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        alice_msg = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="I want to go to Paris"
        )
        await discord_standin.wait_until(lambda: contents(discord_standin, CHANNEL), what="Alice's answer")
        reply = discord_standin.sent_messages(CHANNEL)[0]
        assert reply["message_reference"]["message_id"] == int(alice_msg["id"])
        assert reply["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert "Paris" in reply["content"]
        record = await bot.runner.sessions.store.get_inbound(message_id=inbound_message_id(int(alice_msg["id"])))
        alice = session_user_id(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
        assert record is not None and record.user_id == alice
        assert "<@" not in record.text, "the bot's own mention is not part of the question"

        # Bob in the same channel has his own conversation: no Paris for him.
        await discord_standin.send_server_message(guild_id=GUILD, channel_id=CHANNEL, user_id=BOB, content="in May please")
        await discord_standin.wait_until(lambda: len(contents(discord_standin, CHANNEL)) >= 2, what="Bob's answer")
        assert "Paris" not in contents(discord_standin, CHANNEL)[1]

        # A server message that does not mention the bot is not for it.
        seen = bot.client.handled["message"]
        await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="chatting with friends", mention_bot=False
        )
        await handled(discord_standin, bot, "message", seen + 1)
        assert len(contents(discord_standin, CHANNEL)) == 2


async def test_a_mention_of_the_bots_managed_role_is_answered_like_a_mention(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    """Typing "@Trip Planner", people often pick the bot's managed role (it has the bot's name) from
    Discord's suggestions: the message then carries `<@&role>` and no user mention."""
    role_id = discord_standin.guilds[GUILD].bot_role_id
    async with running_bot(discord_standin, settings) as bot:
        # The server came in GUILD_CREATE after READY: its roles are known, no member list was asked for.
        guild = bot.client.get_guild(GUILD)
        assert guild is not None and guild.self_role is not None and guild.self_role.id == role_id
        assert guild.self_role.is_bot_managed() and [m.id for m in guild.members] == [discord_standin.bot_id]
        assert discord_standin.sessions[0].member_requests == []

        mention = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="I want to go to Lisbon",
            mention_bot=False, mention_roles=[role_id],
        )
        assert mention["content"] == f"<@&{role_id}> I want to go to Lisbon"
        assert mention["mentions"] == [] and mention["mention_roles"] == [str(role_id)]
        await handled(discord_standin, bot, "message", 2)  # the mention and the echo of the answer
        [reply] = discord_standin.sent_messages(CHANNEL)
        assert reply["message_reference"]["message_id"] == int(mention["id"])
        assert reply["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert "Lisbon" in reply["content"], "the text reached the planner without the message-content intent"
        record = await bot.runner.sessions.store.get_inbound(message_id=inbound_message_id(int(mention["id"])))
        alice = session_user_id(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
        assert record is not None and record.user_id == alice
        assert record.text == "I want to go to Lisbon", "the role mention is not part of the question"


async def test_mentions_of_other_roles_and_everyone_are_not_for_the_bot(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    crew = discord_standin.add_role(GUILD, "Travellers", bot_has=True)  # a role the bot has, not its own
    other_bot = discord_standin.add_role(GUILD, "Other Bot", bot_id=OTHER_BOT)  # another bot's managed role
    role_id = discord_standin.guilds[GUILD].bot_role_id
    async with running_bot(discord_standin, settings) as bot:
        ignored = [
            await discord_standin.send_server_message(
                guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="Plan a trip to Rome", mention_bot=False,
                mention_roles=roles, everyone=not roles,
            )
            for roles in ([crew], [other_bot], [])  # the last one is "@everyone Plan a trip to Rome"
        ]
        assert [m["mention_roles"] for m in ignored] == [[str(crew)], [str(other_bot)], []]
        assert ignored[2]["mention_everyone"] is True
        await handled(discord_standin, bot, "message", 3)
        assert contents(discord_standin, CHANNEL) == []
        store = bot.runner.sessions.store
        for message in ignored:
            assert await store.get_inbound(message_id=inbound_message_id(int(message["id"]))) is None

        # Its own role among others is a mention: answered once, only that role taken out of the text.
        mention = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="Rome in May", mention_bot=False,
            mention_roles=[crew, role_id],
        )
        await handled(discord_standin, bot, "message", 5)  # the mention and the echo of the answer
        [reply] = discord_standin.sent_messages(CHANNEL)
        assert reply["message_reference"]["message_id"] == int(mention["id"]) and "Rome" in reply["content"]
        record = await store.get_inbound(message_id=inbound_message_id(int(mention["id"])))
        assert record is not None and record.text == f"<@&{crew}> Rome in May"


async def test_dm_only_mode_ignores_servers(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings, server_mentions=False) as _bot:
        session = discord_standin.sessions[0]
        assert not session.intents & (GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS)
        sent = await discord_standin.send_server_message(guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="Paris?")
        # Like Discord, the stand-in does not deliver server messages without the intent.
        assert ("MESSAGE_CREATE", sent) in discord_standin.filtered
        await dm_answer(discord_standin, ALICE, "Paris?")
        assert contents(discord_standin, CHANNEL) == []


# -- long answers -----------------------------------------------------------------------------------


async def test_long_answer_is_split_without_breaking_code_blocks(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings, agent=long_answer_agent()) as bot:
        channel = discord_standin.dm_channel(ALICE)
        await discord_standin.send_dm(ALICE, "LONG plan please")
        # The answer is complete when the core has it and every piece is posted.
        # Every piece is echoed back as a message event too, so the DM's own handler is done once
        # the handled events outnumber the pieces.
        await discord_standin.wait_until(
            lambda: len(contents(discord_standin, channel)) >= 3
            and bot.client.handled["message"] > len(contents(discord_standin, channel)),
            what="the pieces",
        )
        pieces = contents(discord_standin, channel)

        assert all(len(p) <= 2000 for p in pieces)
        assert all(p.count("```") % 2 == 0 for p in pieces), "each piece renders its code on its own"
        assert sum("```python" in p for p in pieces) >= 2, "a code block split in two is reopened with its language"
        assert all(call.status == 200 for call in discord_standin.calls_to("POST", rf"/channels/{channel}/messages"))
        text = "\n".join(pieces)
        for i in (0, 29, 59):
            assert f"budget[{i}] = {i * 37} + extras  # day {i} estimate" in text
        assert "Day 5:" in text and "Tip 19:" in text

        # Every piece is remembered as an answer: a 👍 on the last one closes the trip.
        calls = discord_standin.calls_to("POST", rf"/channels/{channel}/messages")
        refs = [answer_ref(channel, discord_standin.created_ids[c.seq]) for c in calls]
        store = bot.runner.sessions.store
        assert all([await store.conversation_for_message(message_ref=r) for r in refs])
        await discord_standin.add_reaction(
            user_id=ALICE, channel_id=channel, message_id=discord_standin.created_ids[calls[-1].seq], emoji="👍"
        )
        await discord_standin.wait_until(lambda: SATISFIED_REPLY in contents(discord_standin, channel), what="closing")


# -- reactions --------------------------------------------------------------------------------------


async def test_reactions_only_count_from_the_owner_on_current_answers(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        channel = discord_standin.dm_channel(ALICE)
        alice = f"discord:{ALICE}"
        first = await dm_answer(discord_standin, ALICE, "Plan a trip to Berlin")
        sessions = bot.runner.sessions

        # Someone else's 👍 on Alice's answer (e.g. in a shared server they cannot, but ids can be forged).
        await discord_standin.add_reaction(user_id=BOB, channel_id=channel, message_id=first["message_id"], emoji="👍")
        # 👍 on a message that is not one of our answers (Alice's own message).
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first["inbound"]["id"], emoji="👍")
        # Another emoji on the answer.
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first["message_id"], emoji="🎉")
        await handled(discord_standin, bot, "reaction", 3)
        assert len(contents(discord_standin, channel)) == 1
        assert await sessions.current_conversation(alice) is not None

        # 👎 records "unsatisfied", keeps the trip open and invites a change.
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first["message_id"], emoji="👎")
        await discord_standin.wait_until(lambda: UNSATISFIED_REPLY in contents(discord_standin, channel), what="👎 reply")
        current = await sessions.current_conversation(alice)
        assert current is not None and current.feedback == "unsatisfied"

        # /newtrip, then a 👍 on the old conversation's answer does nothing.
        interaction = await discord_standin.invoke_command("newtrip", user_id=ALICE)
        await discord_standin.wait_until(lambda: discord_standin.interaction_calls(interaction), what="/newtrip")
        new_current = await sessions.current_conversation(alice)
        assert new_current is not None and new_current.conversation_id != current.conversation_id
        seen = bot.client.handled["reaction"]
        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first["message_id"], emoji="👍")
        await handled(discord_standin, bot, "reaction", seen + 1)
        assert SATISFIED_REPLY not in contents(discord_standin, channel)
        assert await sessions.current_conversation(alice) is not None


async def test_server_reactions_use_the_reactors_own_session(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        await discord_standin.send_server_message(guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="Go to Oslo")
        await discord_standin.wait_until(lambda: contents(discord_standin, CHANNEL), what="the answer")
        answer_id = discord_standin.created_ids[discord_standin.calls_to("POST", rf"/channels/{CHANNEL}/messages")[0].seq]

        await discord_standin.add_reaction(user_id=BOB, channel_id=CHANNEL, message_id=answer_id, emoji="👍", guild_id=GUILD)
        await handled(discord_standin, bot, "reaction", 1)
        assert len(contents(discord_standin, CHANNEL)) == 1

        await discord_standin.add_reaction(user_id=ALICE, channel_id=CHANNEL, message_id=answer_id, emoji="👍🏿", guild_id=GUILD)
        await discord_standin.wait_until(lambda: SATISFIED_REPLY in contents(discord_standin, CHANNEL), what="closing")
        confirmation = discord_standin.sent_messages(CHANNEL)[-1]
        assert confirmation["message_reference"]["message_id"] == answer_id
        assert confirmation["allowed_mentions"]["parse"] == []
        alice = session_user_id(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
        assert await bot.runner.sessions.current_conversation(alice) is None


# -- slash commands ---------------------------------------------------------------------------------


async def test_slash_commands_answer_at_once(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        await dm_answer(discord_standin, ALICE, "Plan a trip to Madrid")
        sessions = bot.runner.sessions
        before = await sessions.current_conversation(f"discord:{ALICE}")

        async def command(name: str, **where: int) -> dict:
            interaction = await discord_standin.invoke_command(name, user_id=ALICE, **where)
            calls = await discord_standin.wait_until(lambda: discord_standin.interaction_calls(interaction), what=f"/{name}")
            assert calls[0].path.endswith("/callback") and calls[0].status == 200
            return calls[0].body

        new = await command("newtrip")
        assert new["type"] == 4 and new["data"]["content"] == NEW_TRIP_REPLY
        assert new["data"]["allowed_mentions"] == {"parse": []}
        after = await sessions.current_conversation(f"discord:{ALICE}")
        assert before is not None and after is not None and after.conversation_id != before.conversation_id

        ended = await command("endtrip")
        assert ended["data"]["content"] == END_TRIP_REPLY
        assert await sessions.current_conversation(f"discord:{ALICE}") is None
        again = await command("endtrip")
        assert again["data"]["content"] == NO_TRIP_REPLY

        # In a server the confirmation is ephemeral and the command acts on that channel's conversation.
        in_server = await command("newtrip", guild_id=GUILD, channel_id=CHANNEL)
        assert in_server["data"]["flags"] & 64
        server_user = session_user_id(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
        assert await sessions.current_conversation(server_user) is not None


async def test_slow_slash_command_is_deferred_then_followed_up(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings, answer_within_s=0) as _bot:
        interaction = await discord_standin.invoke_command("newtrip", user_id=ALICE)
        calls = await discord_standin.wait_until(
            lambda: len(discord_standin.interaction_calls(interaction)) >= 2 and discord_standin.interaction_calls(interaction),
            what="defer and follow-up",
        )
        defer, follow_up = calls[0], calls[1]
        assert defer.path.endswith("/callback") and defer.body["type"] == 5
        assert follow_up.method == "POST" and follow_up.path.startswith("/webhooks/")
        assert follow_up.body["content"] == NEW_TRIP_REPLY
        assert defer.done_seq is not None and defer.done_seq < follow_up.seq


# -- robustness and scale ---------------------------------------------------------------------------


async def test_rate_limited_answer_is_delayed_not_lost(discord_standin: DiscordStandIn, settings: Settings) -> None:
    discord_standin.rate_limit("POST", r"/channels/\d+/messages", times=2, retry_after=0.2)
    async with running_bot(discord_standin, settings):
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Vienna")
        calls = discord_standin.calls_to("POST", rf"/channels/{discord_standin.dm_channel(ALICE)}/messages")
        assert [c.status for c in calls] == [429, 429, 200]
        assert calls[0].body["content"] == calls[2].body["content"] == answer["request"]["content"]


@pytest.mark.parametrize("shard_count", [2, None], ids=["fixed", "auto"])
async def test_sharded_client_connects_and_answers(settings: Settings, shard_count: int | None) -> None:
    async with DiscordStandIn(token=TOKEN, recommended_shards=2) as standin:
        standin.add_guild(GUILD, channels=[CHANNEL])
        standin.add_guild(ODD_GUILD, channels=[ODD_CHANNEL])
        async with running_bot(standin, settings, sharded=True, shard_count=shard_count) as bot:
            await standin.wait_ready(shards=2)
            assert sorted(s.shard for s in standin.sessions if s.identified) == [(0, 2), (1, 2)]
            assert bot.client.shard_count == 2
            assert bool(standin.calls_to("GET", r"/gateway/bot")) == (shard_count is None)
            # Each server's GUILD_CREATE came on the shard it belongs to.
            assert {g.id: g.shard_id for g in bot.client.guilds} == {GUILD: 0, ODD_GUILD: 1}
            assert all(g.self_role is not None for g in bot.client.guilds)

            await dm_answer(standin, ALICE, "Plan a trip to Prague")  # DMs arrive on shard 0
            await standin.send_server_message(
                guild_id=ODD_GUILD, channel_id=ODD_CHANNEL, user_id=BOB, content="Prague too"
            )
            await standin.wait_until(lambda: contents(standin, ODD_CHANNEL), what="the answer via shard 1")
            assert "Prague" in contents(standin, ODD_CHANNEL)[0]
            # The bot's role in the server on shard 1 counts as a mention too.
            role_id = standin.guilds[ODD_GUILD].bot_role_id
            await standin.send_server_message(
                guild_id=ODD_GUILD, channel_id=ODD_CHANNEL, user_id=ALICE, content="Vienna", mention_bot=False,
                mention_roles=[role_id],
            )
            await standin.wait_until(lambda: len(contents(standin, ODD_CHANNEL)) == 2, what="the role mention's answer")
            assert "Vienna" in contents(standin, ODD_CHANNEL)[1]


async def test_shard_ids_pick_this_processs_shards(settings: Settings) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        on_shard_1 = GUILD + (2 << 22)  # (id >> 22) % 3 == 1; GUILD itself is on shard 2
        standin.add_guild(GUILD, channels=[CHANNEL])
        standin.add_guild(on_shard_1, channels=[ODD_CHANNEL])
        async with running_bot(standin, settings, sharded=True, shard_count=3, shard_ids=(1,)) as bot:
            assert [s.shard for s in standin.sessions if s.identified] == [(1, 3)]
            assert isinstance(bot.client, ShardedPlannerClient) and bot.client.shard_ids == [1]
            assert [g.id for g in bot.client.guilds] == [on_shard_1], "only this shard's servers"


async def test_stop_waits_for_answers_in_flight(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.discord")
    gate = discord_standin.hold("POST", r"/channels/\d+/messages")
    async with running_bot(discord_standin, settings) as bot:
        await discord_standin.send_dm(ALICE, "Plan a trip to Athens")
        await discord_standin.wait_until(lambda: discord_standin.calls_to("POST", r"/channels/\d+/messages"), what="the answer")
        bot.stop.set()
        await discord_standin.wait_until(
            lambda: any("answers in flight" in r.getMessage() and "Waiting" in r.getMessage() for r in caplog.records),
            what="the drain to start",
        )
        session = discord_standin.sessions[0]
        assert session.open, "the gateway stays open while an answer is in flight"
        gate.set()
        assert await bot.shutdown() == 0
        post = discord_standin.calls_to("POST", r"/channels/\d+/messages")[0]
        assert post.status == 200
        await discord_standin.wait_until(lambda: session.closed_seq is not None, what="the gateway to close")
        assert post.done_seq is not None and session.closed_seq is not None and post.done_seq < session.closed_seq


async def test_a_forced_stop_does_not_wait(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.discord")
    discord_standin.hold("POST", r"/channels/\d+/messages")  # never released: the answer cannot finish
    async with running_bot(discord_standin, settings, shutdown_timeout_s=600) as bot:
        await discord_standin.send_dm(ALICE, "Plan a trip to Athens")
        await discord_standin.wait_until(lambda: discord_standin.calls_to("POST", r"/channels/\d+/messages"), what="the answer")
        bot.stop.set()
        await discord_standin.wait_until(
            lambda: any("Waiting for" in r.getMessage() for r in caplog.records), what="the drain to start"
        )
        bot.force.set()  # a second SIGTERM
        assert await bot.shutdown() == 0
        assert any("Closing with 1 answers still in flight" in r.getMessage() for r in caplog.records)
        assert discord_standin.calls_to("POST", r"/channels/\d+/messages")[0].status is None


async def test_rejected_token_is_a_configuration_error(settings: Settings) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        with pytest.raises(ConfigError, match="DISCORD_TOKEN was rejected"):
            async with running_bot(standin, settings, token="b3RoZXI.dG9rZW4.Zm9yc29tZW9uZWVsc2U"):
                pass
        assert standin.calls_to("GET", r"/users/@me")[0].status == 401
        assert not standin.sessions, "no gateway connection with a rejected token"


async def test_an_answer_discord_refused_is_sent_once_by_the_recovery_sweep(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    channel = discord_standin.dm_channel(ALICE)
    discord_standin.refuse("POST", rf"/channels/{channel}/messages", status=403, times=1)
    async with running_bot(discord_standin, settings) as bot:
        await discord_standin.send_dm(ALICE, "Plan a trip to Vienna")
        await handled(discord_standin, bot, "message", 1)
        assert contents(discord_standin, channel) == []

        assert await bot.runner.recover(bot.client.channel, force=True) == 1
        [answer] = contents(discord_standin, channel)
        assert "Vienna" in answer
        assert await bot.runner.recover(bot.client.channel, force=True) == 0
        assert len(contents(discord_standin, channel)) == 1
        # The sweep sent the answer with the nonce the live attempt used: had Discord created it after
        # all, the sweep would have got that message back instead of posting a second one.
        live, swept = discord_standin.calls_to("POST", rf"/channels/{channel}/messages")
        assert live.body["nonce"] == swept.body["nonce"] and swept.body["enforce_nonce"] is True


async def test_a_sent_answer_is_never_swept_again(discord_standin: DiscordStandIn, settings: Settings) -> None:
    async with running_bot(discord_standin, settings) as bot:
        answer = await dm_answer(discord_standin, ALICE, "Plan a trip to Vienna")
        key = inbound_message_id(int(answer["inbound"]["id"]))
        # The answer is on screen before the handler has marked it delivered; wait for the mark (the
        # bot's own echoed message also counts as a handled event, so counting events cannot tell).
        for _ in range(500):
            record = await bot.runner.sessions.store.get_inbound(message_id=key)
            if record is not None and record.delivered_at is not None:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"{key} was never marked delivered")
        assert await bot.runner.recover(bot.client.channel, force=True) == 0
        assert len(contents(discord_standin, discord_standin.dm_channel(ALICE))) == 1


async def test_an_answer_to_a_mention_deleted_meanwhile_is_sent_once_without_the_reply(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    """Discord refuses a reply to a deleted message; the answer goes out as a plain message instead of
    being retried for days."""
    discord_standin.refuse("POST", rf"/channels/{CHANNEL}/messages", status=503, times=1)  # the live send fails
    async with running_bot(discord_standin, settings) as bot:
        mention = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="I want to go to Paris"
        )
        await handled(discord_standin, bot, "message", 1)
        assert contents(discord_standin, CHANNEL) == []
        discord_standin.delete_message(CHANNEL, int(mention["id"]))
        assert await bot.runner.recover(bot.client.channel, force=True) == 1
        [sent] = [c for c in discord_standin.calls_to("POST", rf"/channels/{CHANNEL}/messages") if c.seq in discord_standin.created_ids]
        assert sent.body["message_reference"]["fail_if_not_exists"] is False
        created = discord_standin.channel_messages[CHANNEL][discord_standin.created_ids[sent.seq]]
        assert "Paris" in created["content"] and "message_reference" not in created  # a plain message
        assert await bot.runner.recover(bot.client.channel, force=True) == 0


async def test_an_answer_to_someone_who_closed_their_dms_is_given_up_not_retried_forever(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    channel = discord_standin.dm_channel(ALICE)
    posts = rf"/channels/{channel}/messages"
    discord_standin.refuse("POST", posts, status=403, times=2, code=50007)  # live send, then the sweep's
    async with running_bot(discord_standin, settings) as bot:
        await discord_standin.send_dm(ALICE, "Plan a trip to Vienna")
        await handled(discord_standin, bot, "message", 1)
        assert await bot.runner.recover(bot.client.channel, force=True) == 0
        attempts = len(discord_standin.calls_to("POST", posts))
        assert attempts == 1, "the live send already gave up: the one delivery routine does, on any path"
        # Given up: later sweeps do not try again (a missing permission, 50001, would be retried).
        assert await bot.runner.recover(bot.client.channel, force=True) == 0
        assert len(discord_standin.calls_to("POST", posts)) == attempts
        assert contents(discord_standin, channel) == []


async def test_a_recovered_server_answer_is_still_a_reply_to_the_mention(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    discord_standin.refuse("POST", rf"/channels/{CHANNEL}/messages", status=403, times=1)
    async with running_bot(discord_standin, settings) as bot:
        mention = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="I want to go to Paris"
        )
        await handled(discord_standin, bot, "message", 1)
        assert contents(discord_standin, CHANNEL) == []
        assert await bot.runner.recover(bot.client.channel, force=True) == 1
        [reply] = discord_standin.sent_messages(CHANNEL)
        assert reply["message_reference"]["message_id"] == int(mention["id"])
        assert "Paris" in reply["content"] and reply["allowed_mentions"]["parse"] == []


@pytest.mark.parametrize("then", ["retried", "swept"])
async def test_an_answer_whose_response_was_lost_is_posted_once_and_still_counts(
    discord_standin: DiscordStandIn, settings: Settings, then: str
) -> None:
    """Discord created the answer but answered 500. discord.py retries a 500 at once ("retried");
    if the retry fails too (a 503, which it does not retry), the recovery sweep sends the answer
    later ("swept"). Either way Alice sees one answer, and it is the one a 👍 closes the trip with."""
    channel = discord_standin.dm_channel(ALICE)
    posts = rf"/channels/{channel}/messages"
    discord_standin.lose_response("POST", posts, status=500)
    if then == "swept":
        discord_standin.refuse("POST", posts, status=503)
    async with running_bot(discord_standin, settings) as bot:
        inbound = await discord_standin.send_dm(ALICE, "Plan a trip to Vienna")
        await handled(discord_standin, bot, "message", 2)  # the DM, and the echo of the created answer
        key = inbound_message_id(int(inbound["id"]))
        if then == "swept":
            assert [c.status for c in discord_standin.calls_to("POST", posts)] == [500, 503]
            record = await bot.runner.sessions.store.get_inbound(message_id=key)
            assert record is not None and record.delivered_at is None, "the bot does not know it was posted"
            assert await bot.runner.recover(bot.client.channel, force=True) == 1

        calls = discord_standin.calls_to("POST", posts)
        assert [c.status for c in calls] == ([500, 200] if then == "retried" else [500, 503, 200])
        [answer] = contents(discord_standin, channel)
        assert "Vienna" in answer
        created = discord_standin.created_ids[calls[0].seq]
        assert discord_standin.returned_ids[calls[-1].seq] == created, "Discord handed back the first message"
        assert {c.body["nonce"] for c in calls} == {answer_nonce(key, 0)}
        assert await bot.runner.recover(bot.client.channel, force=True) == 0

        await discord_standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=created, emoji="👍")
        await discord_standin.wait_until(lambda: SATISFIED_REPLY in contents(discord_standin, channel), what="closing")
        assert await bot.runner.sessions.current_conversation(f"discord:{ALICE}") is None
        assert contents(discord_standin, channel) == [answer, SATISFIED_REPLY]


async def test_a_partly_posted_answer_is_completed_by_the_sweep_without_repeating_pieces(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    """A long answer to a mention: the first piece went out, Discord created the second but its
    response was lost (503, not retried). The sweep sends the whole answer again with the live
    path's nonces, so the pieces Discord has come back instead of being posted twice."""
    posts = rf"/channels/{CHANNEL}/messages"
    discord_standin.lose_response("POST", posts, status=503, skip=1)
    async with running_bot(discord_standin, settings, agent=long_answer_agent()) as bot:
        mention = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="LONG plan please"
        )
        await discord_standin.wait_until(lambda: len(discord_standin.calls_to("POST", posts)) >= 2, what="two pieces")
        await handled(discord_standin, bot, "message", 3)  # the mention and the echoes of the two pieces
        live = discord_standin.calls_to("POST", posts)
        assert [c.status for c in live] == [200, 503]

        assert await bot.runner.recover(bot.client.channel, force=True) == 1
        swept = discord_standin.calls_to("POST", posts)[2:]
        assert len(swept) >= 3 and all(c.status == 200 for c in swept)

        # Each piece exactly once, in order, the first still a reply to the mention.
        pieces = discord_standin.sent_messages(CHANNEL)
        assert [p["content"] for p in pieces] == [c.body["content"] for c in swept]
        assert pieces[0]["message_reference"]["message_id"] == int(mention["id"])
        assert [c.body["nonce"] for c in swept[:2]] == [c.body["nonce"] for c in live]
        key = inbound_message_id(int(mention["id"]))
        assert [c.body["nonce"] for c in swept] == [answer_nonce(key, i) for i in range(len(swept))]
        assert all(len(c.body["nonce"]) <= 25 for c in swept), "Discord's limit"
        ids = [discord_standin.created_ids.get(c.seq) or discord_standin.returned_ids[c.seq] for c in swept]
        assert ids[:2] == [discord_standin.created_ids[c.seq] for c in live]
        store = bot.runner.sessions.store
        assert all([await store.conversation_for_message(message_ref=answer_ref(CHANNEL, i)) for i in ids])


# -- catch-up: messages no gateway session received ---------------------------------------------------


async def caught_up(standin: DiscordStandIn, bot: RunningBot, passes: int) -> None:
    """Wait until the bot has finished `passes` catch-up passes (one per READY, answers included)."""
    await standin.wait_until(lambda: bot.client.handled["catch_up"] >= passes, what=f"{passes} catch-up pass(es)")


async def test_a_dm_sent_while_the_bot_was_down_is_answered_once_after_restart(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.discord")
    channel = discord_standin.dm_channel(ALICE)
    history = rf"/channels/{channel}/messages"
    async with running_bot(discord_standin, settings) as bot:
        await caught_up(discord_standin, bot, 1)  # a fresh database: no place to look at
        assert not discord_standin.calls_to("GET", history)
        await dm_answer(discord_standin, ALICE, "Plan a trip to Rome")
        last = await dm_answer(discord_standin, ALICE, "I want to go to Lisbon")

    # The bot is down (a deploy): Discord stores the DM in the channel and delivers it to nobody.
    missed = await discord_standin.send_dm(ALICE, "in June for 5 days", dispatch=False)
    assert len(contents(discord_standin, channel)) == 2

    async with running_bot(discord_standin, settings) as bot:  # a new process on the same database
        await caught_up(discord_standin, bot, 1)
        answers = contents(discord_standin, channel)
        assert len(answers) == 3, "the missed DM is answered, the earlier ones are not answered again"
        assert "Lisbon" in answers[2] and "June" in answers[2], "answered in the conversation's context"
        [read] = discord_standin.calls_to("GET", history)
        assert read.status == 200 and read.query["after"] == last["inbound"]["id"], "read after the last stored one"
        record = await bot.runner.sessions.store.get_inbound(message_id=inbound_message_id(int(missed["id"])))
        assert record is not None and record.status == "answered" and record.delivered_at is not None
        assert any("Caught up on 1 missed Discord message" in r.getMessage() for r in caplog.records)
        # Typing was shown for it as for a live message: once per new message, three in all.
        assert len(discord_standin.calls_to("POST", rf"/channels/{channel}/typing")) == 3

    async with running_bot(discord_standin, settings) as bot:  # restarting again answers nothing twice
        await caught_up(discord_standin, bot, 1)
        assert len(discord_standin.calls_to("GET", history)) == 2
        assert len(contents(discord_standin, channel)) == 3
        assert len(discord_standin.calls_to("POST", rf"/channels/{channel}/typing")) == 3


async def test_a_reconnect_that_cannot_resume_catches_up_and_the_next_one_repeats_nothing(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    channel = discord_standin.dm_channel(ALICE)
    async with running_bot(discord_standin, settings) as bot:
        await caught_up(discord_standin, bot, 1)
        await dm_answer(discord_standin, ALICE, "Plan a trip to Kyoto")
        # Alice writes while the connection is down; Discord then refuses to resume the session.
        await discord_standin.send_dm(ALICE, "for 4 days in April", dispatch=False)
        await discord_standin.invalidate_session()
        await caught_up(discord_standin, bot, 2)
        assert [s.identified for s in discord_standin.sessions] == [True, True], "a fresh IDENTIFY, same process"
        answers = contents(discord_standin, channel)
        assert len(answers) == 2 and "Kyoto" in answers[1]

        await discord_standin.invalidate_session()
        await caught_up(discord_standin, bot, 3)
        assert len(discord_standin.calls_to("GET", rf"/channels/{channel}/messages")) == 2
        assert len(contents(discord_standin, channel)) == 2, "the second catch-up answers nothing twice"
        await dm_answer(discord_standin, ALICE, "What about hotels?")  # live messages still work
        assert len(contents(discord_standin, channel)) == 3


async def test_catch_up_in_a_server_channel_answers_missed_mentions_only(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings) as bot:
        await caught_up(discord_standin, bot, 1)
        first = await discord_standin.send_server_message(
            guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="I want to go to Paris"
        )
        await discord_standin.wait_until(lambda: contents(discord_standin, CHANNEL), what="Alice's answer")

    # While the bot is down: another bot mentions it, Bob chats without a mention, Alice asks it, and
    # Bob asks it through its role.
    other = await discord_standin.send_server_message(
        guild_id=GUILD, channel_id=CHANNEL, user_id=OTHER_BOT, content="Paris for bots", bot_author=True,
        dispatch=False,
    )
    chat = await discord_standin.send_server_message(
        guild_id=GUILD, channel_id=CHANNEL, user_id=BOB, content="anyone for lunch?", mention_bot=False,
        dispatch=False,
    )
    missed = await discord_standin.send_server_message(
        guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE, content="in May please", dispatch=False
    )
    by_role = await discord_standin.send_server_message(
        guild_id=GUILD, channel_id=CHANNEL, user_id=BOB, content="Lisbon for me", mention_bot=False,
        mention_roles=[discord_standin.guilds[GUILD].bot_role_id], dispatch=False,
    )

    async with running_bot(discord_standin, settings) as bot:
        await caught_up(discord_standin, bot, 1)
        replies = discord_standin.sent_messages(CHANNEL)
        assert len(replies) == 3, "only the mentions are answered (not the bot, the chat, or our own answer)"
        assert replies[1]["message_reference"]["message_id"] == int(missed["id"])
        assert "Paris" in replies[1]["content"]
        assert replies[2]["message_reference"]["message_id"] == int(by_role["id"])
        assert "Lisbon" in replies[2]["content"] and "Paris" not in replies[2]["content"]
        store = bot.runner.sessions.store
        for ignored in (other, chat):
            assert await store.get_inbound(message_id=inbound_message_id(int(ignored["id"]))) is None
        # Read from Alice's first mention on: our answer, the other bot's, the chat, Alice's and Bob's.
        [read] = discord_standin.calls_to("GET", rf"/channels/{CHANNEL}/messages")
        assert read.status == 200 and read.query["after"] == first["id"]


async def test_a_channel_that_cannot_be_read_does_not_stop_the_catch_up(
    discord_standin: DiscordStandIn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.discord")
    alice, bob = discord_standin.dm_channel(ALICE), discord_standin.dm_channel(BOB)
    async with running_bot(discord_standin, settings):
        await dm_answer(discord_standin, ALICE, "Plan a trip to Oslo")
        await dm_answer(discord_standin, BOB, "Plan a trip to Rome")
    await discord_standin.send_dm(ALICE, "in July", dispatch=False)
    await discord_standin.send_dm(BOB, "in August", dispatch=False)
    discord_standin.refuse("GET", rf"/channels/{alice}/messages", status=403)

    async with running_bot(discord_standin, settings) as bot:
        await caught_up(discord_standin, bot, 1)
        assert len(contents(discord_standin, alice)) == 1
        assert any(f"Could not read channel {alice}" in r.getMessage() for r in caplog.records)
        bobs = contents(discord_standin, bob)
        assert len(bobs) == 2 and "Rome" in bobs[1], "the other channel is caught up all the same"

        await discord_standin.invalidate_session()  # the next READY tries again
        await caught_up(discord_standin, bot, 2)
        alices = contents(discord_standin, alice)
        assert len(alices) == 2 and "Oslo" in alices[1]
        assert len(contents(discord_standin, bob)) == 2


async def test_only_the_process_running_shard_0_catches_up_dms(settings: Settings) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        channel = standin.dm_channel(ALICE)
        async with running_bot(standin, settings):
            await dm_answer(standin, ALICE, "Plan a trip to Prague")
        await standin.send_dm(ALICE, "in May", dispatch=False)

        async with running_bot(standin, settings, sharded=True, shard_count=3, shard_ids=(1,)) as bot:
            await caught_up(standin, bot, 1)
            assert not standin.calls_to("GET", rf"/channels/{channel}/messages"), "DMs arrive on shard 0"

        async with running_bot(standin, settings, sharded=True, shard_count=3, shard_ids=(0,)) as bot:
            await caught_up(standin, bot, 1)
            answers = contents(standin, channel)
            assert len(answers) == 2 and "Prague" in answers[1]


class _HeldModel(OfflinePlannerModel):
    """The offline planner, answering only once the test sets `release`: a slow turn on demand."""

    release: Any = None

    async def generate_content_async(self, llm_request: Any, stream: bool = False) -> AsyncIterator[Any]:
        await self.release.wait()
        async for response in super().generate_content_async(llm_request, stream):
            yield response


async def test_typing_is_renewed_while_a_long_turn_runs_and_stops_with_the_answer(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    """Discord clears "typing…" after about 10 s, so a long turn renews it until the answer is sent."""
    release = asyncio.Event()
    async with running_bot(discord_standin, settings, agent=build_concierge(_HeldModel(release=release))) as bot:
        bot.client.typing_every_s = 0.05
        channel = discord_standin.dm_channel(ALICE)
        typing = rf"/channels/{channel}/typing"
        await discord_standin.send_dm(ALICE, "Plan a trip to Vienna")
        await discord_standin.wait_until(lambda: len(discord_standin.calls_to("POST", typing)) >= 3, what="renewed typing")
        assert contents(discord_standin, channel) == []
        release.set()
        await discord_standin.wait_until(lambda: len(contents(discord_standin, channel)) == 1, what="the answer")
        await handled(discord_standin, bot, "message", 2)  # the DM and the echo of the answer
        shown = len(discord_standin.calls_to("POST", typing))
        # Once answered, no more renewals: another DM's whole turn passes without any for Vienna's.
        await dm_answer(discord_standin, BOB, "Plan a trip to Rome")
        assert len(discord_standin.calls_to("POST", typing)) == shown

"""Answers that stream into Discord, end to end through the real discord.py client and the stand-in
(whose Edit Message keeps Discord's 5-edits-per-5-seconds bucket and answers 429 past it): one message
grows by edits at most one every 1.5 s per channel, is cut at 2,000 characters while it grows, and
becomes the final answer's first piece (with its buttons) exactly once, also after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.standins.discord import DiscordStandIn
from tests.standins.gemini import GeminiStandIn, call, say
from tests.standins.openai_chat import OpenAIChatStandIn
from tests.standins.discord_harness import TOKEN, long_answer, running_bot
from tests.streaming_model import echo_stream_agent
from tests.test_discord import ALICE, CHANNEL, GUILD
from tests.test_gemini import FAST_RETRY, gemini_settings, standin  # noqa: F401  (fixtures)
from tests.test_streaming_slack import PLAN, mark_pending
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.models import build_model


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        standin.add_guild(GUILD, channels=[CHANNEL])
        yield standin


def bot_messages(standin: DiscordStandIn, channel: int) -> list[dict]:
    return [m for _id, m in sorted(standin.channel_messages.get(channel, {}).items()) if m["author"]["id"] == str(standin.bot_id)]


async def test_an_answer_grows_by_paced_edits_and_ends_as_the_final_answer(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    channel = discord_standin.dm_channel(ALICE)
    async with running_bot(discord_standin, settings, agent=echo_stream_agent(every_s=0.2)):
        await discord_standin.send_dm(ALICE, PLAN + " @everyone")
        await discord_standin.wait_until(
            lambda: [m["content"] for m in bot_messages(discord_standin, channel)] == [PLAN + " @everyone"]
            and any(b for m in bot_messages(discord_standin, channel) for b in m.get("components") or []),
            what="the final answer with its buttons",
        )
    edits = [e for e in discord_standin.edits if e[0] == channel]
    assert len(edits) >= 3  # grew at least twice, then the final edit
    growing = [e[3] for e in edits[:-1]]
    assert all(later - earlier >= 1.3 for earlier, later in zip(growing, growing[1:]))  # paced per channel
    assert discord_standin.refused_edits == 0
    assert all(PLAN.startswith(e[2]) or e[2] == PLAN + " @everyone" for e in edits)  # whole words, in order
    [created] = discord_standin.sent_messages(channel)  # one message only: the stream's
    assert created["allowed_mentions"] == {"parse": []}
    for call in discord_standin.calls_to("PATCH", rf"/channels/{channel}/messages/\d+"):
        assert call.body["allowed_mentions"] == {"parse": []}


async def test_a_long_answer_is_cut_while_it_grows_and_split_when_it_is_done(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    channel = discord_standin.dm_channel(ALICE)
    text = long_answer()
    agent = echo_stream_agent(answer=text, words_per_chunk=60, every_s=0.25)
    async with running_bot(discord_standin, settings, agent=agent) as bot:
        await discord_standin.send_dm(ALICE, "LONG please")
        pieces = bot.client.channel.render(text)  # type: ignore[attr-defined]
        assert len(pieces) >= 3
        await discord_standin.wait_until(
            lambda: [m["content"] for m in bot_messages(discord_standin, channel)] == pieces, what="every piece"
        )
    assert any(e[2].endswith(" …") and len(e[2]) <= 2000 for e in discord_standin.edits)  # cut while growing
    assert len(discord_standin.sent_messages(channel)) == len(pieces)  # the stream became piece 1


@pytest.mark.parametrize("stored", ["ref", "pending"])
async def test_a_stream_cut_by_a_crash_becomes_the_recovered_answer(
    discord_standin: DiscordStandIn, settings: Settings, stored: str
) -> None:
    """With the stream's message stored, or only the mark (killed between Discord's create and the
    write): then the stream's nonce gets Discord's message back, and an edit makes it the answer."""
    channel = discord_standin.dm_channel(ALICE)
    gate = asyncio.Event()  # never opened: the first process stops mid-answer
    async with running_bot(discord_standin, settings, agent=echo_stream_agent(hold_after=4, gate=gate, every_s=0.05)) as first:
        sent = await discord_standin.send_dm(ALICE, PLAN)
        await discord_standin.wait_until(lambda: bot_messages(discord_standin, channel), what="the answer to start")
        first.force.set()  # no graceful drain: the turn is cut
    [streamed] = bot_messages(discord_standin, channel)
    assert streamed["content"] != PLAN
    if stored == "pending":
        await mark_pending(settings, f"discord:{sent['id']}")

    async with running_bot(discord_standin, settings, agent=echo_stream_agent()):
        await discord_standin.wait_until(
            lambda: [m["content"] for m in bot_messages(discord_standin, channel)] == [PLAN], what="the recovered answer"
        )
    [answer] = bot_messages(discord_standin, channel)
    assert answer["id"] == streamed["id"]  # the streamed message became the answer; no second one


async def test_gemini_streams_through_adk_into_discord(
    discord_standin: DiscordStandIn, gemini_settings: Settings, standin: GeminiStandIn
) -> None:
    """The real ADK Gemini model and google-genai against the stand-in's streamGenerateContent?alt=sse:
    the concierge's tool shows as a ticked small line above the words."""
    standin.plan(call("get_typical_weather", {"city": "Lisbon", "month": "May"}), say(PLAN))
    standin.words_per_chunk, standin.stream_every_s = 2, 0.15  # about 3 s of words
    channel = discord_standin.dm_channel(ALICE)
    agent = build_concierge(build_model(gemini_settings, retry_options=FAST_RETRY))
    async with running_bot(discord_standin, gemini_settings, agent=agent):
        await discord_standin.send_dm(ALICE, "Plan Lisbon for me")
        await discord_standin.wait_until(
            lambda: [m["content"] for m in bot_messages(discord_standin, channel)] == [PLAN], what="the answer"
        )
    assert standin.streamed == 2
    [created] = discord_standin.sent_messages(channel)
    steps, words = created["content"].split("\n", 1)
    assert steps == "-# ✓ Looking up the weather in Lisbon" and PLAN.startswith(words)
    edits = [e[2] for e in discord_standin.edits if e[0] == channel]
    assert len(edits) >= 2 and edits[-1] == PLAN


async def test_litellm_streams_through_adk_into_discord(
    discord_standin: DiscordStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADK's LiteLlm, with LiteLLM itself, against an OpenAI-compatible stand-in that streams."""
    openai = OpenAIChatStandIn(PLAN)
    openai.stream_every_s = 0.12  # about 2.5 s of words
    await openai.start()
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_BASE", openai.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
    channel = discord_standin.dm_channel(ALICE)
    try:
        model = build_model(replace(settings, model="litellm/openai/gpt-4o-mini"))
        async with running_bot(discord_standin, settings, agent=build_concierge(model)):
            await discord_standin.send_dm(ALICE, "Plan Lisbon for me")
            await discord_standin.wait_until(
                lambda: [m["content"] for m in bot_messages(discord_standin, channel)] == [PLAN], what="the answer"
            )
    finally:
        await openai.stop()
    assert openai.requests and all(r.get("stream") for r in openai.requests)
    edits = [e[2] for e in discord_standin.edits if e[0] == channel]
    assert len(edits) >= 2 and edits[-1] == PLAN and PLAN.startswith(edits[0])

"""Answers that stream into Slack, end to end through the real Bolt app, slack-sdk and the stand-in
(which speaks chat.startStream / appendStream / stopStream as Slack does): the words grow in the
DM's thread, whole words a chunk with every mention neutralised, and the streamed message becomes the
final answer (its blocks, buttons and metadata) exactly once, also when a crash cut the stream."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bots.slack import SlackBot
from bots.slack.posting import POST_EVENT_TYPE
from tests.standins.gemini import GeminiStandIn, call, say
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.streaming_model import echo_stream_agent
from tests.test_gemini import FAST_RETRY, gemini_settings, standin  # noqa: F401  (fixtures)
from tests.test_slack_events import ALICE, DM, Bot, config_for
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.channel import PENDING_STREAM
from trip_planner.core.replies import APOLOGY
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.store import ConversationStore
from trip_planner.models import build_model

PLAN = ("Here is a **slow** plan for Lisbon: fly in on a Tuesday, stay in Baixa near the river, take the tram "
        "up to the castle, keep a whole day for Sintra and its palaces, and end with dinner in Alfama.")


async def mark_pending(settings: Settings, message_id: str) -> None:
    """As if the process had died between starting the stream and storing its ref."""
    engine = create_async_engine(settings.database_url)
    try:
        await ConversationStore(engine).note_stream(message_id=message_id, stream=PENDING_STREAM)
    finally:
        await engine.dispose()


@asynccontextmanager
async def streaming_bot(settings: Settings, slack: SlackStandIn, **model: Any) -> AsyncIterator[Bot]:
    runner = TripPlannerRunner(settings, agent=echo_stream_agent(**model))
    await runner.start()
    bot = SlackBot(runner, replace(config_for(slack), agent_view=True), drain_timeout_s=0.5)
    await bot.start()
    bot.channel.stream_every_s = 0.2  # several appends within a short answer
    try:
        yield Bot(bot, slack)
    finally:
        await bot.stop()
        await runner.close()


async def dm(bot: Bot, slack: SlackStandIn, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    message = slack.user_message(user=ALICE, channel=DM, text=text)
    status, _ = await bot.send(message)
    assert status == 200
    [answer] = await bot.answered(DM, 1, thread_ts=message["ts"])
    return message, answer


async def test_an_answer_streams_into_its_thread_and_becomes_the_final_answer(settings: Settings, slack: SlackStandIn) -> None:
    async with streaming_bot(settings, slack) as bot:
        message, answer = await dm(bot, slack, PLAN)
        record = await bot.bot.runner.sessions.store.get_inbound(message_id=f"slack:{slack.team_id}:{DM}:{message['ts']}")

    [start] = slack.calls_to("chat.startStream")
    assert start.args["thread_ts"] == message["ts"] and start.args["channel"] == DM
    key = (DM, answer["ts"])
    chunks = slack.stream_chunks[key]
    assert len(slack.calls_to("chat.appendStream")) >= 2 and len(chunks) >= 3  # it grew while the model wrote
    assert all(chunk.endswith((" ", "\n")) for chunk in chunks)  # whole words only
    assert "".join(chunks) in PLAN  # the raw words, as the model wrote them so far
    assert [c.args["ts"] for c in slack.calls_to("chat.stopStream")] == [answer["ts"]]
    # One message in the thread: the streamed one, now the final answer with its mrkdwn, buttons and metadata.
    assert key not in slack.streaming
    assert "*slow*" in answer["text"] and "**" not in answer["text"]
    assert answer["metadata"]["event_type"] == POST_EVENT_TYPE and answer["metadata"]["event_payload"]["part"] == "0"
    assert any(b["type"] == "context_actions" for b in answer["blocks"])
    assert slack.calls_to("chat.postMessage") == []
    assert slack.statuses == {}
    assert record is not None and record.answer == PLAN  # the stored answer is the final text


async def test_no_streamed_chunk_can_ping_anyone(settings: Settings, slack: SlackStandIn) -> None:
    shouty = "Tell <!channel> and <!here|here> and <@U0BOB00001> and @everyone and @channel that Rome is lovely in spring"
    async with streaming_bot(settings, slack, words_per_chunk=1) as bot:
        _, answer = await dm(bot, slack, shouty)
    chunks = slack.stream_chunks[(DM, answer["ts"])]
    assert len(chunks) >= 2
    for chunk in chunks:
        assert "<!" not in chunk and "<@" not in chunk and "@everyone" not in chunk and "@channel" not in chunk
    assert "&lt;!channel&gt;" in "".join(chunks)


@pytest.mark.parametrize("stored", ["ref", "pending"])
async def test_a_stream_cut_by_a_crash_becomes_the_recovered_answer(settings: Settings, slack: SlackStandIn, stored: str) -> None:
    """With the stream's ts stored, or only the mark (killed between Slack's start and the write):
    then the stream is found as the untagged reply of ours in the thread."""
    gate = asyncio.Event()  # never opened: the first worker stops mid-answer
    async with streaming_bot(settings, slack, hold_after=3, gate=gate) as first:
        message = slack.user_message(user=ALICE, channel=DM, text=PLAN)
        await first.send(message)
        await wait_until(lambda: len(slack.calls_to("chat.startStream")) == 1, what="the answer to start streaming")
        await wait_until(lambda: sum(len(c) for c in slack.stream_chunks.values()) >= 2, what="a few words on screen")
    [streamed] = slack.bot_messages(DM, thread_ts=message["ts"])
    assert streamed["text"] != PLAN and (DM, streamed["ts"]) in slack.streaming  # cut mid-answer, still open
    if stored == "pending":
        await mark_pending(settings, f"slack:{slack.team_id}:{DM}:{message['ts']}")

    async with streaming_bot(settings, slack) as second:  # its start-up sweep answers what the first left
        await wait_until(lambda: slack.bot_messages(DM, thread_ts=message["ts"])[0].get("metadata"), what="the recovered answer")
        await wait_until(lambda: second.bot.runner.recovery.recovered == 1, what="the sweep to finish")
    [answer] = slack.bot_messages(DM, thread_ts=message["ts"])  # the same message, never a second one
    assert answer["ts"] == streamed["ts"] and "*slow*" in answer["text"]
    assert answer["metadata"]["event_payload"]["part"] == "0"
    assert (DM, answer["ts"]) not in slack.streaming
    assert slack.calls_to("chat.postMessage") == []


async def test_a_plain_dm_without_agent_view_posts_the_answer_whole(settings: Settings, slack: SlackStandIn) -> None:
    runner = TripPlannerRunner(settings, agent=echo_stream_agent())
    await runner.start()
    bot = SlackBot(runner, replace(config_for(slack), agent_view=False), drain_timeout_s=5)
    await bot.start()
    try:
        answer = await Bot(bot, slack).dm(PLAN)
    finally:
        await bot.stop()
        await runner.close()
    assert "*slow*" in answer["text"] and "thread_ts" not in answer
    assert slack.calls_to("chat.startStream") == [] and len(slack.calls_to("chat.postMessage")) == 1


async def test_tool_work_shows_as_tasks_above_the_growing_words_with_gemini(
    gemini_settings: Settings, standin: GeminiStandIn, slack: SlackStandIn
) -> None:
    """The real ADK Gemini model streaming from the stand-in (streamGenerateContent?alt=sse): the
    concierge's tool shows as a finished task of the stream's timeline above the words."""
    standin.plan(call("get_typical_weather", {"city": "Lisbon", "month": "May"}), say(PLAN))
    standin.words_per_chunk, standin.stream_every_s = 2, 0.08
    runner = TripPlannerRunner(gemini_settings, agent=build_concierge(build_model(gemini_settings, retry_options=FAST_RETRY)))
    await runner.start()
    bot = SlackBot(runner, replace(config_for(slack), agent_view=True), drain_timeout_s=5)
    await bot.start()
    bot.channel.stream_every_s = 0.2
    try:
        _, answer = await dm(Bot(bot, slack), slack, "Plan Lisbon in May")
    finally:
        await bot.stop()
        await runner.close()
    assert standin.streamed >= 2  # the tool call's turn and the answer's, both streamed
    [start] = slack.calls_to("chat.startStream")
    assert start.args["task_display_mode"] == "timeline"
    tasks = slack.stream_tasks[(DM, answer["ts"])]
    assert [(t["title"], t["status"]) for t in tasks] == [("Looking up the weather in Lisbon", "complete")]
    assert "".join(slack.stream_chunks[(DM, answer["ts"])]) and "*slow*" in answer["text"]
    # Once the stream showed, the status line was left to Slack (it clears it on the reply).
    started = slack.calls.index(start)
    later = [c.args["status"] for c in slack.calls[started:] if c.method == "assistant.threads.setStatus"]
    assert set(later) <= {""}


async def test_an_apology_after_a_cut_stream_goes_when_the_recovered_answer_takes_the_stream(
    settings: Settings, slack: SlackStandIn
) -> None:
    database = settings.database_url.split(":///", 1)[1]

    def rename(old: str, new: str) -> None:
        with sqlite3.connect(database) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")

    gate = asyncio.Event()
    async with streaming_bot(settings, slack, hold_after=3, gate=gate) as bot:
        message = slack.user_message(user=ALICE, channel=DM, text=PLAN)
        await bot.send(message)
        await wait_until(lambda: sum(len(c) for c in slack.stream_chunks.values()) >= 2, what="a few words on screen")
        await asyncio.to_thread(rename, "tp_conversations", "tp_conversations_away")  # the turn cannot be stored
        try:
            gate.set()
            await wait_until(lambda: any(m["text"] == APOLOGY for m in slack.bot_messages(DM)), what="the apology")
            await wait_until(lambda: bot.bot.in_flight == 0, what="the failed turn to end")
        finally:
            await asyncio.to_thread(rename, "tp_conversations_away", "tp_conversations")
        assert await bot.bot.runner.recover(bot.bot.channel, force=True) == 1
    [answer] = slack.bot_messages(DM, thread_ts=message["ts"])  # the stream, now the answer; the apology gone
    assert (DM, answer["ts"]) in slack.stream_chunks and "*slow*" in answer["text"]
    assert answer["metadata"]["event_payload"]["part"] == "0"


async def test_the_offline_model_posts_its_answer_at_once_under_agent_view(settings: Settings, slack: SlackStandIn) -> None:
    runner = TripPlannerRunner(settings)  # the product's concierge on the offline model, which does not stream
    await runner.start()
    bot = SlackBot(runner, replace(config_for(slack), agent_view=True), drain_timeout_s=5)
    await bot.start()
    try:
        _, answer = await dm(Bot(bot, slack), slack, "I want to go to Lisbon in May")
    finally:
        await bot.stop()
        await runner.close()
    assert "Lisbon" in answer["text"] and answer["metadata"]["event_payload"]["part"] == "0"
    assert slack.calls_to("chat.startStream") == [] and len(slack.calls_to("chat.postMessage")) == 1

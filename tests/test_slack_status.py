"""Slack's status line instead of a placeholder in DMs, end to end through the real Bolt app and the
stand-in's `assistant.threads.setStatus`; channel mentions keep the placeholder; exactly-once and
crash recovery hold (a status a dead worker left is cleared by the recovered answer)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest
from google.adk.agents import LlmAgent

from bots.slack import SlackBot
from tests.flaky_model import FlakyModel
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import (
    ALICE,
    CHANNEL,
    DM,
    LISBON,
    Bot,
    GatedModel,
    config_for,
    posts,
    start_bot,
    worker,
)
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.replies import APOLOGY, LOADING_MESSAGES, PLACEHOLDER, SATISFIED, STATUS
from trip_planner.core.runner import TripPlannerRunner


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = await start_bot(runner, slack)
    yield started
    await started.bot.stop()


def set_status_calls(slack: SlackStandIn) -> list[dict[str, object]]:
    return [c.args for c in slack.calls_to("assistant.threads.setStatus")]


async def test_a_dm_shows_a_status_with_loading_messages_until_the_answer(settings: Settings, slack: SlackStandIn) -> None:
    gate = asyncio.Event()
    async with worker(settings, slack, agent=LlmAgent(name="gated", model=GatedModel(gate=gate), instruction="Plan.")) as bot:
        message = slack.user_message(user=ALICE, channel=DM, text=LISBON)
        await bot.send(message)
        await wait_until(lambda: slack.status_shown(DM, message["ts"]) is not None, what="the status")
        line = slack.status_shown(DM, message["ts"])
        assert line is not None and line.status == STATUS and line.loading_messages == list(LOADING_MESSAGES)
        assert slack.bot_messages(DM) == []  # no placeholder message while the turn runs
        gate.set()
        [answer] = await bot.answered(DM, 1)
        assert answer["text"] == "Here is your plan." and "thread_ts" not in answer
        assert slack.status_shown(DM, message["ts"]) is None  # the answer cleared it
        assert [c["status"] for c in set_status_calls(slack)] == [STATUS, ""]
        assert PLACEHOLDER not in [p["text"] for p in posts(slack, DM)]


async def test_in_an_assistant_thread_the_status_and_the_answer_are_in_that_thread(bot: Bot, slack: SlackStandIn) -> None:
    root = slack.next_ts()
    message = slack.user_message(user=ALICE, channel=DM, text=LISBON, thread_ts=root)
    await bot.send(message)
    [answer] = await bot.answered(DM, 1, thread_ts=root)
    assert "Lisbon" in answer["text"]
    assert set_status_calls(slack)[0]["thread_ts"] == root
    assert slack.statuses == {}


async def test_a_channel_mention_keeps_the_placeholder(bot: Bot, slack: SlackStandIn) -> None:
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
    await bot.send(slack.app_mention(mention))
    [answer] = await bot.answered(CHANNEL, 1, thread_ts=mention["ts"])
    assert posts(slack, CHANNEL)[0]["text"] == PLACEHOLDER  # shown first, then edited into the answer
    assert slack.calls_to("chat.update")[0].args["ts"] == answer["ts"] and "Lisbon" in answer["text"]
    assert set_status_calls(slack) == []


async def test_where_slack_refuses_a_status_the_placeholder_shows_progress(bot: Bot, slack: SlackStandIn) -> None:
    slack.fail_next("assistant.threads.setStatus", status=400, retry_after=None)
    answer = await bot.dm(LISBON)
    assert posts(slack, DM)[0]["text"] == PLACEHOLDER
    assert slack.calls_to("chat.update")[0].args["ts"] == answer["ts"] and "Lisbon" in answer["text"]
    assert len(slack.bot_messages(DM)) == 1 and slack.statuses == {}


async def test_a_status_left_by_a_dead_worker_is_cleared_by_the_recovered_answer(settings: Settings, slack: SlackStandIn) -> None:
    crashed_runner = TripPlannerRunner(settings, agent=build_concierge(FlakyModel()))
    await crashed_runner.start()
    crashed = SlackBot(crashed_runner, config_for(slack), drain_timeout_s=0.01)
    await crashed.start()
    message = slack.user_message(user=ALICE, channel=DM, text=f"HANG {LISBON}")
    await Bot(crashed, slack).send(message)
    await wait_until(lambda: slack.status_shown(DM, message["ts"]) is not None, what="the status")
    await crashed.stop()  # the turn is cut off, as by a kill: the status stays on screen
    await crashed_runner.close()
    assert slack.status_shown(DM, message["ts"]) is not None and slack.bot_messages(DM) == []

    async with worker(settings, slack) as bot:
        await wait_until(lambda: len(slack.bot_messages(DM)) == 1 and bot.bot.in_flight == 0, what="the recovered answer")
        [answer] = slack.bot_messages(DM)
        assert "Lisbon" in answer["text"] and answer.get("blocks")  # a real answer, with its buttons
        await wait_until(lambda: slack.status_shown(DM, message["ts"]) is None, what="the status to go")
        await bot.settle()
        assert len(posts(slack, DM)) == 1  # exactly once
        await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=answer["ts"]))
        await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation")


async def test_an_answer_slack_posted_before_failing_is_not_posted_again_and_the_status_goes(bot: Bot, slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", status=500, retry_after=None, after_apply=True)
    message = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    await bot.send(message)
    await wait_until(lambda: bot.bot.in_flight == 0 and len(slack.bot_messages(DM)) == 1, what="the answer")
    assert [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)] == [500]  # found, not reposted
    await wait_until(lambda: slack.status_shown(DM, message["ts"]) is None, what="the status to go")
    assert await bot.bot.runner.unanswered_messages() == []


async def test_an_apology_replaces_the_status_and_turns_into_the_recovered_answer(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner, settings: Settings
) -> None:
    database = settings.database_url.split(":///", 1)[1]

    def rename(old: str, new: str) -> None:
        with sqlite3.connect(database) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")

    released = slack.hold("assistant.threads.setStatus")
    message = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    await bot.send(message)
    await wait_until(lambda: len(slack.calls_to("assistant.threads.setStatus")) == 1, what="the status")
    await asyncio.to_thread(rename, "tp_conversations", "tp_conversations_away")  # the turn cannot run
    try:
        released.set()
        await wait_until(lambda: [m["text"] for m in slack.bot_messages(DM)] == [APOLOGY], what="the apology")
        await wait_until(lambda: bot.bot.in_flight == 0, what="the failed turn to end")
        assert slack.status_shown(DM, message["ts"]) is None
    finally:
        await asyncio.to_thread(rename, "tp_conversations_away", "tp_conversations")

    assert await runner.recover(bot.bot.channel, force=True) == 1
    [answer] = slack.bot_messages(DM)
    assert "Lisbon" in answer["text"]

"""Slack's agent messaging experience, end to end through the real Bolt app and the stand-in: each
top-level DM message is a thread root with its answer (and status line) in that thread, a follow-up in
the thread continues the conversation, a new top-level message continues the open trip until it is
closed, the Messages tab offers suggested prompts, and plain DMs keep working when the setting is off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bots.slack import SlackBot, session_user_id
from bots.slack.config import load_slack_config
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import ALICE, DM, LISBON, Bot, config_for
from trip_planner.config import ConfigError
from trip_planner.core.replies import SATISFIED, SUGGESTED_PROMPTS, SUGGESTED_PROMPTS_TITLE
from trip_planner.core.runner import TripPlannerRunner


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = SlackBot(runner, replace(config_for(slack), agent_view=True), drain_timeout_s=10)
    await started.start()
    yield Bot(started, slack)
    await started.stop()


async def ask(bot: Bot, slack: SlackStandIn, text: str, *, thread_ts: str | None = None) -> tuple[dict, dict]:
    """Send a DM (top-level, or in a thread) and return it with the bot's answer in its thread."""
    message = slack.user_message(user=ALICE, channel=DM, text=text, thread_ts=thread_ts)
    root = thread_ts or message["ts"]
    before = len(slack.bot_messages(DM, thread_ts=root))
    status, _ = await bot.send(message)
    assert status == 200
    answers = await bot.answered(DM, before + 1, thread_ts=root)
    return message, answers[-1]


async def test_a_top_level_message_is_answered_in_its_own_thread(bot: Bot, slack: SlackStandIn) -> None:
    message, answer = await ask(bot, slack, LISBON)
    assert answer["thread_ts"] == message["ts"] and "Lisbon" in answer["text"]
    calls = [c.args for c in slack.calls_to("assistant.threads.setStatus")]
    assert all(c["thread_ts"] == message["ts"] for c in calls) and calls[-1]["status"] == ""
    assert slack.statuses == {}


async def test_a_follow_up_in_the_thread_continues_its_conversation(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    message, _ = await ask(bot, slack, LISBON)
    _, follow_up = await ask(bot, slack, "What will the weather be like?", thread_ts=message["ts"])
    assert follow_up["thread_ts"] == message["ts"] and "Lisbon" in follow_up["text"]
    record = await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE))
    assert record is not None and record.query_count == 2


async def test_a_new_top_level_message_continues_the_open_trip_until_it_is_closed(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    person = session_user_id(slack.team_id, DM, ALICE)
    first, _ = await ask(bot, slack, LISBON)
    trip = await runner.sessions.current_conversation(person)
    second, answer = await ask(bot, slack, "How about the hotels?")
    assert answer["thread_ts"] == second["ts"] != first["ts"]
    same = await runner.sessions.current_conversation(person)
    assert trip is not None and same is not None and same.conversation_id == trip.conversation_id
    assert "Lisbon" in answer["text"]  # the open trip's facts carry into the new thread
    status, _ = await slack.send_action(bot.url, slack.block_actions(user=ALICE, channel=DM, ts=answer["ts"], value="positive"))
    assert status == 200
    await wait_until(lambda: any(m.get("text") == SATISFIED for m in slack.bot_messages(DM)), what="the trip closed")
    await ask(bot, slack, "Now I want to go to Kyoto")
    fresh = await runner.sessions.current_conversation(person)
    assert fresh is not None and fresh.conversation_id != trip.conversation_id


async def test_opening_the_messages_tab_offers_suggested_prompts(bot: Bot, slack: SlackStandIn) -> None:
    status, _ = await bot.send({"type": "app_home_opened", "user": ALICE, "channel": DM, "tab": "messages",
                                "event_ts": slack.next_ts()})
    assert status == 200
    await wait_until(lambda: DM in slack.suggested_prompts, what="the suggested prompts")
    shown = slack.suggested_prompts[DM]
    assert shown["title"] == SUGGESTED_PROMPTS_TITLE
    assert [(p["title"], p["message"]) for p in shown["prompts"]] == list(SUGGESTED_PROMPTS)
    await bot.send({"type": "app_home_opened", "user": ALICE, "channel": "D0OTHER001", "tab": "home", "event_ts": slack.next_ts()})
    await bot.settle()
    assert "D0OTHER001" not in slack.suggested_prompts  # the Home tab is not the place for prompts


def test_the_setting_defaults_to_agent_view_and_refuses_nonsense() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cret"}
    assert load_slack_config(base).agent_view is True
    assert load_slack_config({**base, "SLACK_AGENT_VIEW": "false"}).agent_view is False
    with pytest.raises(ConfigError, match="SLACK_AGENT_VIEW"):
        load_slack_config({**base, "SLACK_AGENT_VIEW": "sometimes"})

"""End to end over HTTP: signed Events API requests -> the real Bolt app -> the real runner -> the stand-in.

Nothing of ours is mocked: the Bolt app listens on a real port, the runner runs the offline model on
a temporary SQLite file, and the stand-in records every Web API call the app makes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, LlmResponse
from google.genai import types

from bots.slack import SlackBot, SlackConfig, session_user_id
from bots.slack.formatting import render
from bots.slack.posting import PostTag
from bots.slack.listeners import COMMAND_HELP
from trip_planner.core.replies import (
    COMMAND_WAIT,
    FILES_NOTE,
    NOTHING_TO_END,
    PLACEHOLDER,
)
from trip_planner.core.replies import NEW_TRIP as NEW_TRIP_REPLY
from trip_planner.core.replies import SATISFIED as ENDED_REPLY
from tests.flaky_model import FlakyModel
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.replies import APOLOGY
from trip_planner.core.replies import SATISFIED as SATISFIED_REPLY
from trip_planner.core.replies import UNSATISFIED as UNSATISFIED_REPLY
from trip_planner.core.runner import TripPlannerRunner

ALICE, BOB = "U0ALICE001", "U0BOB00001"
DM, CHANNEL = "D0ALICEDM1", "C0GENERAL1"
LISBON = "I want to go to Lisbon for 4 days in May"


def config_for(slack: SlackStandIn) -> SlackConfig:
    return SlackConfig(
        bot_token=slack.bot_token, signing_secret=slack.signing_secret, api_url=slack.api_url, port=0, host="127.0.0.1"
    )


class Bot:
    """A started SlackBot and the URL Slack would post events to."""

    def __init__(self, bot: SlackBot, slack: SlackStandIn) -> None:
        self.bot = bot
        self.slack = slack
        self.url = f"http://127.0.0.1:{bot.http_port}/slack/events"

    async def send(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return await self.slack.send_event(self.url, event, **kwargs)

    async def answered(self, channel: str, count: int, *, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Wait until `count` finished (non-placeholder) bot messages are in the place, and nothing runs."""

        def done() -> bool:
            msgs = self.slack.bot_messages(channel, thread_ts=thread_ts)
            return len([m for m in msgs if m["text"] != PLACEHOLDER]) >= count and self.bot.in_flight == 0

        await wait_until(done, what=f"{count} answer(s) in {channel}")
        return self.slack.bot_messages(channel, thread_ts=thread_ts)

    async def dm(self, text: str, *, user: str = ALICE, channel: str = DM) -> dict[str, Any]:
        """Send a DM and return the bot's answer to it."""
        before = len(self.slack.bot_messages(channel))
        status, _ = await self.send(self.slack.user_message(user=user, channel=channel, text=text))
        assert status == 200
        return (await self.answered(channel, before + 1))[-1]

    async def settle(self) -> None:
        """Prove earlier events were fully handled: a control DM elsewhere is answered, nothing runs."""
        await self.dm("Hello", user="U0CONTROL1", channel="D0CONTROL1")


async def start_bot(runner: TripPlannerRunner, slack: SlackStandIn) -> Bot:
    bot = SlackBot(runner, config_for(slack), drain_timeout_s=10)
    await bot.start()
    return Bot(bot, slack)


@asynccontextmanager
async def worker(settings: Settings, slack: SlackStandIn, **runner_kwargs: Any) -> AsyncIterator[Bot]:
    """One worker process's worth: a runner on `settings` and a started bot, stopped afterwards."""
    worker_runner = TripPlannerRunner(settings, **runner_kwargs)
    await worker_runner.start()
    started = await start_bot(worker_runner, slack)
    try:
        yield started
    finally:
        await started.bot.stop()
        await worker_runner.close()


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = await start_bot(runner, slack)
    yield started
    await started.bot.stop()


def posts(slack: SlackStandIn, channel: str, text: str | None = None) -> list[dict[str, Any]]:
    return [
        c.args for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and (text is None or c.args.get("text") == text)
    ]


def command_reply(body: str) -> str:
    """A slash command's immediate (ephemeral) reply: Bolt sends plain text, or JSON with `text`."""
    return str(json.loads(body)["text"]) if body.startswith("{") else body


def updates(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_to("chat.update") if c.args.get("channel") == channel]


# -- answering ------------------------------------------------------------------------------------


async def test_dm_shows_a_status_then_the_answer_and_keeps_context(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    # (Was: a "Planning…" placeholder edited into the answer. In DMs a status line replaces it; the
    # placeholder stays for channel mentions, see test_slack_status.py.)
    first = await bot.dm(LISBON)
    # The first thing the user sees is the status under their message, then the answer in the DM
    # itself (not a thread), rendered as mrkdwn and posted without link parsing; the status is gone.
    shown = slack.calls_to("assistant.threads.setStatus")[0].args
    assert shown["channel_id"] == DM and shown["status"] and shown["thread_ts"] == slack.user_messages(DM)[0]["ts"]
    answer = posts(slack, DM)[0]
    assert answer["text"] == first["text"] and "thread_ts" not in answer
    assert answer["parse"] == "none" and slack.calls_to("chat.update") == [] and slack.statuses == {}
    heading = first["text"].splitlines()[0]
    assert heading.startswith("*") and heading.endswith("*") and "Lisbon" in heading  # "### …" became bold
    assert "**" not in first["text"] and "###" not in first["text"]
    assert len(posts(slack, DM)) == 1

    follow_up = await bot.dm("What hotels?")
    assert "Lisbon" in follow_up["text"]  # the conversation kept its context
    record = await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE))
    assert record is not None and record.query_count == 2


async def test_forged_or_replayed_requests_get_401_and_cause_no_web_api_call(bot: Bot, slack: SlackStandIn) -> None:
    event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    status, _ = await bot.send(event, secret="not-the-signing-secret")
    assert status == 401
    assert [c.method for c in slack.calls] == ["auth.test"]  # start-up's token check, nothing after
    body = json.dumps(slack.event_callback(event)).encode()
    # Correctly signed, but with a timestamp outside the 5-minute window: a replayed request.
    status, _ = await slack.post_signed(bot.url, body, timestamp=int(time.time()) - 10 * 60)
    assert status == 401
    tampered = body.replace(LISBON.encode(), b"I want to go to Paris")
    headers_body_mismatch = await slack.post_signed(bot.url, body)  # a valid one is accepted...
    assert headers_body_mismatch[0] == 200
    await bot.answered(DM, 1)
    calls_before = len(slack.calls)
    status, _ = await bot.send(event, secret="x" * 32)  # ...a forged one is not
    assert status == 401 and tampered != body
    assert len(slack.calls) == calls_before


async def test_url_verification_and_unknown_events_are_acknowledged(bot: Bot, slack: SlackStandIn) -> None:
    challenge = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}).encode()
    status, text = await slack.post_signed(bot.url, challenge)
    assert status == 200 and "abc123" in text
    for event in (
        {"type": "app_context_changed", "user": ALICE, "channel": DM, "event_ts": slack.next_ts()},
        {"type": "reaction_removed", "user": ALICE, "reaction": "+1", "item": {"type": "message", "channel": DM, "ts": "1.2"}, "event_ts": "1.3"},
        {"type": "member_joined_channel", "user": ALICE, "channel": CHANNEL, "channel_type": "C", "team": slack.team_id, "event_ts": "1.4"},
    ):
        status, _ = await bot.send(event)
        assert status == 200, event["type"]
    status, _ = await slack.send_command(bot.url, user=ALICE, channel=DM, text="", command="/unknown")
    assert status == 200
    await bot.settle()
    assert [c.method for c in slack.calls if c.method != "auth.test"] == [
        "assistant.threads.setStatus", "chat.postMessage", "assistant.threads.setStatus"  # shown, answered, cleared
    ]


async def test_retries_get_exactly_one_answer_even_after_a_restart(settings: Settings, slack: SlackStandIn) -> None:
    event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    async with worker(settings, slack) as first:
        status, _ = await first.send(event, event_id="Ev0RETRY001")
        assert status == 200
        await first.answered(DM, 1)
        status, _ = await first.send(event, event_id="Ev0RETRY001", retry_num=1)
        assert status == 200
        await first.settle()
    assert len(posts(slack, DM)) == 1 and len(updates(slack, DM)) == 0  # a status, then the answer

    # A new process on the same database: Slack's last retry gets nothing posted at all.
    async with worker(settings, slack) as second:
        status, _ = await second.send(event, event_id="Ev0RETRY001", retry_num=2)
        assert status == 200
        await second.settle()
    assert len(posts(slack, DM)) == 1
    assert len(updates(slack, DM)) == 0
    assert slack.calls_to("chat.delete") == []


async def test_a_mention_arriving_as_message_and_app_mention_is_answered_once_in_its_thread(bot: Bot, slack: SlackStandIn) -> None:
    message = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
    results = await asyncio.gather(bot.send(message), bot.send(slack.app_mention(message)))
    assert [status for status, _ in results] == [200, 200]
    answers = await bot.answered(CHANNEL, 1, thread_ts=message["ts"])
    await bot.settle()
    assert len(posts(slack, CHANNEL)) == 1
    assert posts(slack, CHANNEL)[0]["thread_ts"] == message["ts"]
    assert "Lisbon" in answers[0]["text"]

    # A follow-up in that thread needs no new mention; a top-level channel message is not for the bot.
    follow = slack.user_message(user=ALICE, channel=CHANNEL, text="What hotels?", thread_ts=message["ts"])
    assert (await bot.send(follow))[0] == 200
    answers = await bot.answered(CHANNEL, 2, thread_ts=message["ts"])
    assert "Lisbon" in answers[-1]["text"]
    # In a thread the bot is in, a mention arrives twice (message + app_mention) and both would qualify.
    again = slack.user_message(
        user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> and flights?", thread_ts=message["ts"]
    )
    await asyncio.gather(bot.send(slack.app_mention(again)), bot.send(again))
    await bot.answered(CHANNEL, 3, thread_ts=message["ts"])
    await bot.settle()
    assert len(posts(slack, CHANNEL)) == 3 and slack.calls_to("chat.delete") == []
    # Someone else talking in the thread, or anyone in the channel, without a mention: not for the bot.
    await bot.send(slack.user_message(user=BOB, channel=CHANNEL, text="I'd go to Rome", thread_ts=message["ts"]))
    await bot.send(slack.user_message(user=ALICE, channel=CHANNEL, text="lunch anyone?"))
    await bot.settle()
    assert len(posts(slack, CHANNEL)) == 3


async def test_a_mention_inside_an_existing_thread_answers_in_that_thread(bot: Bot, slack: SlackStandIn) -> None:
    root = slack.next_ts()
    mention = slack.app_mention(
        slack.user_message(user=BOB, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}", thread_ts=root)
    )
    await bot.send(mention)
    await bot.answered(CHANNEL, 1, thread_ts=root)
    assert posts(slack, CHANNEL)[0]["thread_ts"] == root


async def test_own_posts_other_bots_and_subtypes_are_ignored_and_files_get_a_note(bot: Bot, slack: SlackStandIn) -> None:
    original = slack.user_message(user=ALICE, channel=DM, text="Paris")
    for event in (
        slack.bot_post(channel=DM, text="my own answer"),
        slack.bot_post(channel=DM, text="another bot", bot_id="B0OTHER001", user="U0OTHERBOT"),
        dict(slack.bot_post(channel=DM, text="legacy bot", bot_id="B0OTHER002", user="U0OTHERBT2"), subtype="bot_message"),
        slack.message_changed(original, "Paris in June"),
        {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": DM, "ts": slack.next_ts(),
         "deleted_ts": original["ts"], "event_ts": slack.next_ts(), "channel_type": "im", "previous_message": original},
        {"type": "message", "subtype": "channel_join", "user": ALICE, "text": f"<@{ALICE}> has joined the channel",
         "channel": CHANNEL, "ts": slack.next_ts(), "event_ts": slack.next_ts(), "channel_type": "channel"},
    ):
        status, _ = await bot.send(event)
        assert status == 200
    await bot.settle()
    assert posts(slack, DM) == []

    assert (await bot.send(slack.file_share(user=ALICE, channel=DM)))[0] == 200
    await wait_until(lambda: len(posts(slack, DM)) == 1, what="the file note")
    assert posts(slack, DM)[0]["text"] == FILES_NOTE


# -- reactions ------------------------------------------------------------------------------------


async def test_reactions_in_a_thread_own_foreign_thumbs_down_and_old_conversation(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    alice = session_user_id(slack.team_id, CHANNEL, ALICE)
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
    await bot.send(slack.app_mention(mention))
    answer = (await bot.answered(CHANNEL, 1, thread_ts=mention["ts"]))[0]
    conversation = await runner.sessions.current_conversation(alice)
    assert conversation is not None

    # Bob's 👍 on Alice's answer, and Alice's 👍 on her own message: nothing happens.
    await bot.send(slack.reaction_added(user=BOB, channel=CHANNEL, ts=answer["ts"]))
    await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=mention["ts"], item_user=ALICE))
    await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=answer["ts"], reaction="tada"))
    await bot.settle()
    assert len(posts(slack, CHANNEL)) == 1
    assert (await runner.sessions.current_conversation(alice)) == conversation or (
        (await runner.sessions.current_conversation(alice)).conversation_id == conversation.conversation_id  # type: ignore[union-attr]
    )

    # 👎 records the feedback, keeps the conversation open and asks what to change, in the thread.
    await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=answer["ts"], reaction="-1"))
    await wait_until(lambda: len(posts(slack, CHANNEL, UNSATISFIED_REPLY)) == 1, what="the unsatisfied reply")
    assert posts(slack, CHANNEL, UNSATISFIED_REPLY)[0]["thread_ts"] == mention["ts"]
    still = await runner.sessions.current_conversation(alice)
    assert still is not None and still.conversation_id == conversation.conversation_id and still.feedback == "unsatisfied"

    # 👍 with a skin tone closes it as satisfied, with the confirmation in the thread.
    await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=answer["ts"], reaction="+1::skin-tone-3"))
    await wait_until(lambda: len(posts(slack, CHANNEL, SATISFIED_REPLY)) == 1, what="the satisfied reply")
    assert posts(slack, CHANNEL, SATISFIED_REPLY)[0]["thread_ts"] == mention["ts"]
    assert await runner.sessions.current_conversation(alice) is None
    ended = await runner.sessions.store.get_conversation(conversation_id=conversation.conversation_id)
    assert ended is not None and ended.status == "ended" and ended.feedback == "satisfied"

    # A new conversation; a 👍 on the old answer does nothing to it.
    again = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> Tokyo in October")
    await bot.send(slack.app_mention(again))
    await bot.answered(CHANNEL, 1, thread_ts=again["ts"])
    new = await runner.sessions.current_conversation(alice)
    assert new is not None and new.conversation_id != conversation.conversation_id
    await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=answer["ts"], reaction="thumbsup"))
    await bot.settle()
    assert len(posts(slack, CHANNEL, SATISFIED_REPLY)) == 1
    current = await runner.sessions.current_conversation(alice)
    assert current is not None and current.conversation_id == new.conversation_id


async def _handled_meanwhile(bot: Bot, tasks: int) -> None:
    """Wait until `tasks` adapter tasks run, then give a wrongly eager one time to finish early."""
    await wait_until(lambda: bot.bot.in_flight >= tasks, what=f"{tasks} tasks in flight")
    await asyncio.sleep(0.3)


async def test_a_thumbs_up_on_an_answer_still_being_recorded_closes_the_conversation(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    """Slack shows the answer before `chat.postMessage` returns; a 👍 in that gap is not ignored.
    (In a DM the answer is posted, not edited from a placeholder: a status shows progress there.)"""
    released = slack.hold("chat.postMessage")
    await bot.send(slack.user_message(user=ALICE, channel=DM, text=LISBON))
    await wait_until(lambda: any(m["text"] != PLACEHOLDER for m in slack.bot_messages(DM)), what="the answer on screen")
    answer = slack.bot_messages(DM)[-1]
    await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=answer["ts"]))
    await _handled_meanwhile(bot, 2)  # the answer (awaiting Slack) and the reaction
    released.set()
    await wait_until(lambda: len(posts(slack, DM, SATISFIED_REPLY)) == 1, what="the satisfied reply")
    assert await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE)) is None


async def test_a_thread_reply_to_an_answer_still_being_recorded_is_answered(bot: Bot, slack: SlackStandIn) -> None:
    """The bot follows a thread once it has answered there; a reply in the gap before `chat.update`
    returns is a follow-up, not a stranger's channel message."""
    released = slack.hold("chat.update")
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> Trip to Rome in June")
    await bot.send(slack.app_mention(mention))
    await wait_until(
        lambda: any(m["text"] != PLACEHOLDER for m in slack.bot_messages(CHANNEL, thread_ts=mention["ts"])),
        what="the answer on screen",
    )
    follow = slack.user_message(user=ALICE, channel=CHANNEL, text="What would it cost?", thread_ts=mention["ts"])
    await bot.send(follow)
    await asyncio.sleep(0.3)  # the follow-up is looked at while the first answer is still unconfirmed
    released.set()
    answers = await bot.answered(CHANNEL, 2, thread_ts=mention["ts"])
    assert "Rome" in answers[-1]["text"]


async def test_restart_between_turns_keeps_the_conversation_and_reactions_work(settings: Settings, slack: SlackStandIn) -> None:
    async with worker(settings, slack) as first:
        answer = await first.dm(LISBON)
        mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
        await first.send(slack.app_mention(mention))
        thread_answer = (await first.answered(CHANNEL, 1, thread_ts=mention["ts"]))[0]

    async with worker(settings, slack) as second:
        follow_up = await second.dm("What hotels?")
        assert "Lisbon" in follow_up["text"]
        # A thread follow-up without a mention is still recognised after the restart.
        await second.send(slack.user_message(user=ALICE, channel=CHANNEL, text="What hotels?", thread_ts=mention["ts"]))
        await second.answered(CHANNEL, 2, thread_ts=mention["ts"])
        # 👍 on answers posted by the previous process: the DM one closes the DM conversation...
        await second.send(slack.reaction_added(user=ALICE, channel=DM, ts=answer["ts"]))
        await wait_until(lambda: len(posts(slack, DM, SATISFIED_REPLY)) == 1, what="the DM confirmation")
        assert "thread_ts" not in posts(slack, DM, SATISFIED_REPLY)[0]
        # ...and the thread one closes the channel conversation, confirmed in its thread (looked up).
        await second.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=thread_answer["ts"]))
        await wait_until(lambda: len(posts(slack, CHANNEL, SATISFIED_REPLY)) == 1, what="the thread confirmation")
        assert posts(slack, CHANNEL, SATISFIED_REPLY)[0]["thread_ts"] == mention["ts"]
        assert await second.bot.runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE)) is None


# -- commands ------------------------------------------------------------------------------------


async def test_trip_command_and_dm_words_start_and_end_conversations(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    alice = session_user_id(slack.team_id, DM, ALICE)
    await bot.dm(LISBON)
    first = await runner.sessions.current_conversation(alice)
    assert first is not None

    status, body = await slack.send_command(bot.url, user=ALICE, channel=DM, text="new")
    assert status == 200 and command_reply(body) == NEW_TRIP_REPLY
    second = await runner.sessions.current_conversation(alice)
    assert second is not None and second.conversation_id != first.conversation_id

    status, body = await slack.send_command(bot.url, user=ALICE, channel=DM, text="end")
    assert command_reply(body) == ENDED_REPLY
    assert await runner.sessions.current_conversation(alice) is None
    status, body = await slack.send_command(bot.url, user=ALICE, channel=DM, text="end")
    assert command_reply(body) == NOTHING_TO_END
    status, body = await slack.send_command(bot.url, user=ALICE, channel=DM, text="please")
    assert command_reply(body) == COMMAND_HELP

    await bot.dm(LISBON)
    before = await runner.sessions.current_conversation(alice)
    reply = await bot.dm("Start over!")
    assert reply["text"] == NEW_TRIP_REPLY
    after = await runner.sessions.current_conversation(alice)
    assert before is not None and after is not None and after.conversation_id != before.conversation_id
    assert after.query_count == 0


# -- robustness -----------------------------------------------------------------------------------


async def test_rate_limits_and_server_errors_are_retried_and_the_answer_posted_once(bot: Bot, slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", status=503, retry_after=None)
    slack.fail_next("assistant.threads.setStatus", status=429, retry_after=1)
    answer = await bot.dm(LISBON)
    assert "Lisbon" in answer["text"]
    statuses = slack.calls_to("assistant.threads.setStatus", ok_only=False)
    # Retried after Retry-After; then (on a slow machine) what the planner does, and cleared last.
    assert [c.status for c in statuses[:2]] == [429, 200] and all(c.status == 200 for c in statuses[2:])
    assert len(statuses) >= 3 and statuses[-1].args["status"] == ""
    assert [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)] == [503, 200]
    assert len(slack.bot_messages(DM)) == 1


async def test_a_post_slack_made_before_failing_is_not_posted_again(settings: Settings, slack: SlackStandIn) -> None:
    """Slack answers 500 after posting (the placeholder and both later parts of a long answer): each
    is found by its metadata instead of posted twice, and the answer counts as delivered."""
    paragraph = "\n".join(f"Day {i}: walk the old town, eat well, and rest." for i in range(60))
    echo_runner, bot = await echo_bot(settings, slack, repeat=3)
    slack.fail_next("chat.postMessage", status=500, retry_after=None, times=3, after_apply=True)
    try:
        await bot.send(slack.user_message(user=ALICE, channel=DM, text=paragraph))
        await wait_until(
            lambda: bot.bot.in_flight == 0 and len(slack.calls_to("chat.postMessage", ok_only=False)) >= 3,
            what="the long answer",
        )
        parts = slack.bot_messages(DM)
        assert [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)] == [500, 500, 500]
        assert len(parts) == 3 and PLACEHOLDER not in [m["text"] for m in parts]
        assert "\n".join(m["text"] for m in parts).count("Day 59:") == 3
        assert await echo_runner.recover(bot.bot.channel, force=True) == 0
        await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=parts[-1]["ts"]))
        await wait_until(lambda: len(posts(slack, DM, SATISFIED_REPLY)) == 1, what="the confirmation")
    finally:
        await bot.bot.stop()
        await echo_runner.close()


async def test_a_long_answer_whose_part_failed_is_completed_in_order_by_the_sweep(settings: Settings, slack: SlackStandIn) -> None:
    """When part 2 of 3 is refused, part 3 waits too: the sweep posts both later, in order."""
    paragraph = "\n".join(f"Day {i}: walk the old town, eat well, and rest." for i in range(60))
    echo_runner, bot = await echo_bot(settings, slack, repeat=3)
    try:
        released = slack.hold("chat.postMessage")  # part 1 is posted; hold Slack's answer back
        await bot.send(slack.user_message(user=ALICE, channel=DM, text=paragraph))
        await wait_until(lambda: len(slack.calls_to("chat.postMessage", ok_only=False)) == 1, what="part 1")
        slack.fail_next("chat.postMessage", status=400, retry_after=None)  # part 2 is refused
        released.set()
        await wait_until(lambda: bot.bot.in_flight == 0, what="the delivery to give up")
        assert len(slack.bot_messages(DM)) == 1, "part 3 went out although part 2 had not"

        assert await echo_runner.recover(bot.bot.channel, force=True) == 1
        parts = [m["text"] for m in slack.bot_messages(DM)]  # as the user reads them, top to bottom
        assert parts == render("\n".join([paragraph] * 3)) and len(parts) == 3
    finally:
        await bot.bot.stop()
        await echo_runner.close()


async def test_after_a_crash_the_sweep_turns_the_left_placeholder_into_the_answer(settings: Settings, slack: SlackStandIn) -> None:
    """A worker dies mid-turn with "Planning…" on screen; the next one answers in that message.
    (A channel mention: in DMs a status replaces the placeholder, see test_slack_status.py.)"""
    crashed_runner = TripPlannerRunner(settings, agent=build_concierge(FlakyModel()))
    await crashed_runner.start()
    crashed = SlackBot(crashed_runner, config_for(slack), drain_timeout_s=0.01)
    await crashed.start()
    crashed_bot = Bot(crashed, slack)
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> HANG {LISBON}")
    await crashed_bot.send(slack.app_mention(mention))
    await wait_until(lambda: [m["text"] for m in slack.bot_messages(CHANNEL)] == [PLACEHOLDER], what="the placeholder")
    await crashed.stop()  # the turn is cut off, as by a kill
    await crashed_runner.close()

    async with worker(settings, slack) as bot:
        # The crashed worker's row is gone: the new worker's first sweep (at start-up) takes it at once.
        await wait_until(lambda: "Lisbon" in slack.bot_messages(CHANNEL)[0]["text"], what="the recovered answer")
        [answer] = slack.bot_messages(CHANNEL)
        assert "Lisbon" in answer["text"] and answer["thread_ts"] == mention["ts"]
        assert slack.calls_to("chat.postMessage")[-1].args["text"] == PLACEHOLDER  # no second message
        await bot.send(slack.reaction_added(user=ALICE, channel=CHANNEL, ts=answer["ts"]))
        await wait_until(lambda: len(posts(slack, CHANNEL, SATISFIED_REPLY)) == 1, what="the confirmation")


async def test_a_message_that_could_not_be_stored_is_refused_and_answered_when_slack_retries(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner, settings: Settings
) -> None:
    """The message is stored before the event is acknowledged: when storing fails, Slack hears 500
    (and retries) instead of an acknowledgement for a message that would be lost."""
    import sqlite3

    database = settings.database_url.split(":///", 1)[1]

    def rename(old: str, new: str) -> None:
        with sqlite3.connect(database) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")

    event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    await asyncio.to_thread(rename, "tp_inbound", "tp_inbound_away")
    try:
        status, _ = await bot.send(event, event_id="Ev0STORAGE1")
    finally:
        await asyncio.to_thread(rename, "tp_inbound_away", "tp_inbound")
    assert status == 500
    assert slack.calls_to("chat.postMessage", ok_only=False) == []  # nothing shown for an unsaved message

    status, _ = await bot.send(event, event_id="Ev0STORAGE1", retry_num=1)
    assert status == 200
    [answer] = [m for m in await bot.answered(DM, 1) if m["text"] != PLACEHOLDER]
    assert "Lisbon" in answer["text"]


async def test_a_retry_arriving_while_the_first_delivery_is_still_storing_is_not_acknowledged_early(
    bot: Bot, slack: SlackStandIn, settings: Settings
) -> None:
    """Slack retries when storing takes longer than 3 seconds. If that store then fails, the retry must
    not have been acknowledged meanwhile as a duplicate of a message that was never stored."""
    import sqlite3

    database = settings.database_url.split(":///", 1)[1]
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the database is busy: our inserts wait
    blocker.execute("ALTER TABLE tp_inbound RENAME TO tp_inbound_away")  # ...and then fail
    event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    try:
        first = asyncio.create_task(bot.send(event, event_id="Ev0SLOWSTORE"))
        retry = asyncio.create_task(bot.send(event, event_id="Ev0SLOWSTORE", retry_num=1))
        await asyncio.wait({first, retry}, timeout=0.5)  # both are in; neither may be acknowledged yet
        blocker.execute("COMMIT")
        statuses = sorted([(await first)[0], (await retry)[0]])
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.execute("ALTER TABLE tp_inbound_away RENAME TO tp_inbound")
        blocker.close()
    assert statuses == [500, 500], "a delivery was acknowledged although the message was not stored"
    status, _ = await bot.send(event, event_id="Ev0SLOWSTORE", retry_num=2)
    assert status == 200
    [answer] = [m for m in await bot.answered(DM, 1) if m["text"] != PLACEHOLDER]
    assert "Lisbon" in answer["text"]


async def test_an_apology_shown_instead_of_the_placeholder_becomes_the_answer_once_recovered(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner, settings: Settings
) -> None:
    """No placeholder could be posted, then storage failed mid-turn: the user sees an apology, and
    when the recovery sweep answers the message the apology turns into the answer (it must not pass
    for the answer's first part, leaving the user with the apology alone). A channel mention: in DMs
    a status replaces the placeholder (test_slack_status.py covers the apology there)."""
    import sqlite3

    database = settings.database_url.split(":///", 1)[1]

    def rename(old: str, new: str) -> None:
        with sqlite3.connect(database) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")

    slack.fail_next("chat.postMessage", status=400, retry_after=None)  # the placeholder is refused
    released = slack.hold("chat.postMessage")
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
    await bot.send(slack.app_mention(mention))
    await wait_until(lambda: len(slack.calls_to("chat.postMessage", ok_only=False)) == 1, what="the placeholder attempt")
    await asyncio.to_thread(rename, "tp_conversations", "tp_conversations_away")  # the turn cannot run
    try:
        released.set()
        await wait_until(lambda: [m["text"] for m in slack.bot_messages(CHANNEL)] == [APOLOGY], what="the apology")
        await wait_until(lambda: bot.bot.in_flight == 0, what="the failed turn to end")
    finally:
        await asyncio.to_thread(rename, "tp_conversations_away", "tp_conversations")

    assert await runner.recover(bot.bot.channel, force=True) == 1
    [answer] = slack.bot_messages(CHANNEL)
    assert "Lisbon" in answer["text"] and answer["thread_ts"] == mention["ts"]


async def test_events_arriving_while_shutting_down_are_left_for_slack_to_deliver_again(
    settings: Settings, slack: SlackStandIn
) -> None:
    """During a deploy the old worker refuses new events (503: not acknowledged) instead of
    acknowledging and dropping them; Slack's retry reaches the new worker, which answers once."""
    event = slack.user_message(user=ALICE, channel=DM, text=LISBON)
    async with worker(settings, slack) as old:
        old.bot.pause()
        status, _ = await old.send(event, event_id="Ev0DEPLOY01")
        assert status == 503
        reaction = slack.reaction_added(user=ALICE, channel=DM, ts="1700000000.000001")
        assert (await old.send(reaction))[0] == 503
    assert slack.calls_to("chat.postMessage", ok_only=False) == []

    async with worker(settings, slack) as new:
        status, _ = await new.send(event, event_id="Ev0DEPLOY01", retry_num=1)
        assert status == 200
        [answer] = [m for m in await new.answered(DM, 1) if m["text"] != PLACEHOLDER]
        assert "Lisbon" in answer["text"]


class GatedModel(BaseLlm):
    """A stand-in model that answers only once the test opens its gate (an asyncio.Event)."""

    model: str = "gated"
    gate: Any = None

    async def generate_content_async(self, llm_request: Any, stream: bool = False) -> AsyncIterator[LlmResponse]:
        await self.gate.wait()
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="Here is your plan.")]))


async def test_a_trip_command_during_a_long_answer_is_acknowledged_in_time_and_completed_later(
    settings: Settings, slack: SlackStandIn
) -> None:
    """`/trip new` waits for the answer in progress; Slack still gets its acknowledgement within
    3 seconds ("one moment"), and the result follows through the command's response_url."""
    gate = asyncio.Event()
    async with worker(settings, slack, agent=LlmAgent(name="gated", model=GatedModel(gate=gate), instruction="Plan.")) as bot:
        await bot.send(slack.user_message(user=ALICE, channel=DM, text=LISBON))
        await wait_until(lambda: bool(slack.statuses), what="the turn to start (its status shown)")
        # Acknowledged while the turn is still held: it did not wait for the answer.
        status, body = await slack.send_command(bot.url, user=ALICE, channel=DM, text="new")
        assert status == 200 and command_reply(body) == COMMAND_WAIT
        assert slack.calls_to("response_url") == []
        gate.set()
        await wait_until(lambda: len(slack.calls_to("response_url")) == 1, what="the command's result")
        assert slack.calls_to("response_url")[0].args["text"] == NEW_TRIP_REPLY
        assert [m["text"] for m in slack.bot_messages(DM)] == ["Here is your plan."]


# -- what the model writes -------------------------------------------------------------------------


class EchoModel(BaseLlm):
    """A stand-in model that repeats the user's text, to prove what the adapter does with any text."""

    model: str = "echo"
    repeat: int = 1

    async def generate_content_async(self, llm_request: Any, stream: bool = False) -> AsyncIterator[LlmResponse]:
        last = ""
        for content in llm_request.contents:
            if content.role == "user":
                last = "".join(p.text or "" for p in content.parts or [])
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="\n".join([last] * self.repeat))]))


async def echo_bot(settings: Settings, slack: SlackStandIn, repeat: int = 1) -> tuple[TripPlannerRunner, Bot]:
    agent = LlmAgent(name="echo", model=EchoModel(repeat=repeat), instruction="Repeat the user.")
    echo_runner = TripPlannerRunner(replace(settings, max_message_chars=8000), agent=agent)
    await echo_runner.start()
    return echo_runner, await start_bot(echo_runner, slack)


async def test_model_text_never_pings_anyone(settings: Settings, slack: SlackStandIn) -> None:
    echo_runner, bot = await echo_bot(settings, slack)
    try:
        answer = await bot.dm("Tell <!channel> and <!here|here> and <@U0BOB00001> and @everyone about **Rome**")
    finally:
        await bot.bot.stop()
        await echo_runner.close()
    text = answer["text"]
    assert "<!" not in text and "<@" not in text and "@everyone" not in text
    assert "&lt;!channel&gt;" in text and "*Rome*" in text
    for call in slack.calls_to("chat.update") + slack.calls_to("chat.postMessage"):
        assert call.args.get("parse") == "none" and call.args.get("link_names") in (False, "false", 0, "0")


async def test_long_answers_are_split_and_every_part_counts_for_reactions(settings: Settings, slack: SlackStandIn) -> None:
    paragraph = "\n".join(f"Day {i}: walk the old town, eat well, and rest." for i in range(60))
    echo_runner, bot = await echo_bot(settings, slack, repeat=3)
    try:
        await bot.send(slack.user_message(user=ALICE, channel=DM, text=paragraph))
        await wait_until(
            lambda: len(slack.bot_messages(DM)) >= 3 and bot.bot.in_flight == 0
            and all(m["text"] != PLACEHOLDER for m in slack.bot_messages(DM)),
            what="the long answer",
        )
        parts = slack.bot_messages(DM)
        assert all(len(m["text"]) <= 3000 for m in parts)
        assert "\n".join(m["text"] for m in parts).count("Day 59:") == 3
        # The last part carries the answer too: a 👍 on it closes the conversation.
        await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=parts[-1]["ts"]))
        await wait_until(lambda: len(posts(slack, DM, SATISFIED_REPLY)) == 1, what="the confirmation")
    finally:
        await bot.bot.stop()
        await echo_runner.close()


# -- recovery ---------------------------------------------------------------------------------------


async def test_an_answer_slack_would_not_take_is_posted_once_by_the_recovery_sweep(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    slack.fail_next("chat.postMessage", status=500, retry_after=None, times=50)
    slack.fail_next("chat.update", status=500, retry_after=None, times=50)
    status, _ = await bot.send(slack.user_message(user=ALICE, channel=DM, text=LISBON))
    assert status == 200
    await wait_until(lambda: bot.bot.in_flight == 0 and len(slack.calls_to("chat.postMessage", ok_only=False)) > 0,
                     what="the failed attempt to finish")
    assert slack.bot_messages(DM) == []
    slack._failures.clear()

    assert await runner.recover(bot.bot.channel, force=True) == 1
    [answer] = slack.bot_messages(DM)
    assert "Lisbon" in answer["text"]
    assert await runner.recover(bot.bot.channel, force=True) == 0
    assert len(slack.bot_messages(DM)) == 1
    # The recovered answer is remembered like any other: a 👍 on it closes the conversation.
    await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=answer["ts"]))
    await wait_until(lambda: any(m["text"] == SATISFIED_REPLY for m in slack.bot_messages(DM)), what="the 👍 reply")


async def test_an_answer_for_a_conversation_the_bot_was_removed_from_is_given_up_not_retried_forever(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fail_next("chat.postMessage", status=500, retry_after=None, times=50)
    slack.fail_next("chat.update", status=500, retry_after=None, times=50)
    await bot.send(slack.user_message(user=ALICE, channel=DM, text=LISBON))
    await wait_until(lambda: bot.bot.in_flight == 0 and len(slack.calls_to("chat.postMessage", ok_only=False)) > 0,
                     what="the failed attempt to finish")
    slack._failures.clear()
    slack.remove_bot_from(DM)

    with caplog.at_level(logging.WARNING, logger="trip_planner.core.delivery"):
        assert await runner.recover(bot.bot.channel, force=True) == 0
    assert any("Giving up on the answer" in r.getMessage() for r in caplog.records)
    reads = len(slack.calls_to("conversations.history", ok_only=False))
    assert await runner.recover(bot.bot.channel, force=True) == 0
    assert len(slack.calls_to("conversations.history", ok_only=False)) == reads  # not tried again


async def test_the_lookup_before_posting_again_reads_past_the_first_page(bot: Bot, slack: SlackStandIn) -> None:
    """A busy DM can hold more than one page of messages since the one being answered: the part
    already posted is still found, so it is not posted twice."""
    poster = bot.bot.poster
    poster.find_page_size = 2
    inbound = slack.post_user_message(user=ALICE, channel=DM, text=LISBON)
    key = f"slack:{slack.team_id}:{DM}:{inbound['ts']}"
    first = await poster.post(DM, None, "Part one of the answer", PostTag(key, "0", inbound["ts"]))
    for i in range(5):  # the conversation moved on
        slack.post_user_message(user=ALICE, channel=DM, text=f"And another thing {i}")
    assert await poster.find(DM, None, key, since_ts=inbound["ts"]) == {"0": first}


async def test_a_delivered_answer_is_never_swept_again(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    await bot.dm(LISBON)
    assert await runner.recover(bot.bot.channel, force=True) == 0
    assert len([m for m in slack.bot_messages(DM) if m["text"] != PLACEHOLDER]) == 1

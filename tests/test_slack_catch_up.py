"""Catch-up after start-up: DMs sent while the Slack app was down longer than Slack retries an event.

End to end like tests/test_slack_events.py: the real Bolt app and runner against the stand-in, which
keeps what people post (`post_user_message` keeps a DM without delivering its event: the app is down),
so `conversations.history` shows it on the next start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bots.slack import SlackBot, SlackConfig, message_key, session_user_id
from trip_planner.core.replies import FILES_NOTE, PLACEHOLDER
from trip_planner.core.replies import NEW_TRIP as NEW_TRIP_REPLY
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import ALICE, BOB, DM, LISBON, Bot, config_for, posts, updates, worker
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

BOBS_DM = "D0BOBDM001"


async def caught_up(bot: Bot) -> None:
    """Wait until the bot's catch-up pass is over and everything it started has finished."""
    await wait_until(
        lambda: bot.bot.catch_up_passes >= 1 and bot.bot.in_flight == 0, what="the catch-up and its answers"
    )


def answers(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack.bot_messages(channel) if m["text"] != PLACEHOLDER]


def history_reads(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_to("conversations.history") if c.args.get("channel") == channel]


async def test_a_dm_sent_while_the_bot_was_down_is_answered_once_after_restart(
    settings: Settings, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.slack.app")
    async with worker(settings, slack) as first:
        await caught_up(first)
        assert slack.calls_to("conversations.history") == [], "a fresh database: no DM to read"
        await first.dm("Plan a trip to Rome")
        await first.dm(LISBON)
    last = slack.user_messages(DM)[-1]
    assert last["text"] == LISBON

    # The app is down for longer than Slack retries: Slack keeps the DM and delivers it to nobody.
    missed = slack.post_user_message(user=ALICE, channel=DM, text="What hotels?")
    assert len(answers(slack, DM)) == 2

    async with worker(settings, slack) as second:  # a new process on the same database
        await caught_up(second)
        replies = answers(slack, DM)
        assert len(replies) == 3, "the missed DM is answered, the earlier ones are not answered again"
        assert "Lisbon" in replies[2]["text"], "answered in the conversation's context"
        assert float(replies[2]["ts"]) > float(missed["ts"])
        # Exactly as a live message: a status while planning, then the answer; one post per DM message.
        assert len(posts(slack, DM)) == 3 and len(updates(slack, DM)) == 0
        assert PLACEHOLDER not in [p["text"] for p in posts(slack, DM)] and "thread_ts" not in posts(slack, DM)[2]
        shown = [c.args for c in slack.calls_to("assistant.threads.setStatus") if c.args["status"]]
        assert [c["thread_ts"] for c in shown][-1] == missed["ts"] and slack.statuses == {}
        [read] = history_reads(slack, DM)
        assert read["oldest"] == last["ts"], "read after the last message stored for the DM"
        store = second.bot.runner.sessions.store
        record = await store.get_inbound(message_id=message_key(slack.team_id, DM, missed["ts"]))
        assert record is not None and record.status == "answered" and record.delivered_at is not None
        conversation = await second.bot.runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE))
        assert conversation is not None and conversation.query_count == 3
        assert any("Caught up on 1 missed Slack message" in r.getMessage() for r in caplog.records)
        # Live messages are answered as before.
        assert "Lisbon" in (await second.dm("And museums?"))["text"]

    async with worker(settings, slack) as third:  # starting again answers nothing twice
        await caught_up(third)
        assert len(history_reads(slack, DM)) == 2
        assert len(answers(slack, DM)) == 4 and len(posts(slack, DM)) == 4


async def test_two_workers_starting_together_answer_each_missed_dm_once(settings: Settings, slack: SlackStandIn) -> None:
    """Several processes (HTTP mode, scaled) come back at once: both read the DM, the core's dedupe
    lets one of them answer each missed message."""
    async with worker(settings, slack) as first:
        await first.dm(LISBON)
    slack.post_user_message(user=ALICE, channel=DM, text="What hotels?")
    slack.post_user_message(user=ALICE, channel=DM, text="And museums?")

    runners = [TripPlannerRunner(settings) for _ in range(2)]
    await asyncio.gather(*(r.start() for r in runners))
    bots = [SlackBot(r, config_for(slack), drain_timeout_s=10) for r in runners]
    try:
        await asyncio.gather(*(b.start() for b in bots))
        await wait_until(
            lambda: all(b.catch_up_passes >= 1 and b.in_flight == 0 for b in bots), what="both catch-ups"
        )
        replies = answers(slack, DM)
        assert len(replies) == 3 and all("Lisbon" in r["text"] for r in replies[1:])
        assert len(posts(slack, DM)) == 3, "no second answer either"
        assert slack.calls_to("chat.delete") == []
    finally:
        for b in bots:
            await b.stop()
        for r in runners:
            await r.close()


async def test_bots_own_posts_and_handled_messages_in_history_are_not_answered(
    settings: Settings, slack: SlackStandIn
) -> None:
    """History holds more than people's new messages: our answers and notes, other bots' posts, and
    messages already handled without being stored (a file, "new trip"). Only the missed DM is taken."""
    alice = session_user_id(slack.team_id, DM, ALICE)
    async with worker(settings, slack) as first:
        await first.dm(LISBON)
        await first.send(slack.file_share(user=ALICE, channel=DM))
        await wait_until(lambda: len(posts(slack, DM, FILES_NOTE)) == 1, what="the file note")
        assert (await first.dm("new trip"))["text"] == NEW_TRIP_REPLY
        fresh = await first.bot.runner.sessions.current_conversation(alice)
        assert fresh is not None and fresh.query_count == 0

    ignored = [
        slack.bot_post(channel=DM, text="our own post, made without metadata"),
        slack.bot_post(channel=DM, text="Plan a trip to Oslo", bot_id="B0OTHER001", user="U0OTHERBOT"),
        dict(slack.bot_post(channel=DM, text="Plan a trip to Bergen", bot_id="B0OTHER002", user="U0OTHERBT2"), subtype="bot_message"),
        {"type": "message", "subtype": "reminder_add", "user": ALICE, "text": "set up a reminder", "ts": slack.next_ts(),
         "channel": DM, "event_ts": slack.next_ts(), "channel_type": "im"},
    ]
    for post in ignored:
        slack.record_message(post)
    missed = slack.post_user_message(user=ALICE, channel=DM, text="Plan a trip to Rome in June")
    posted_before = len(posts(slack, DM))

    async with worker(settings, slack) as second:
        await caught_up(second)
        new = posts(slack, DM)[posted_before:]
        assert len(new) == 1 and new[0]["text"] != PLACEHOLDER, "one answer, for the missed DM only"
        reply = answers(slack, DM)[-1]
        assert "Rome" in reply["text"] and "Lisbon" not in reply["text"], "in the trip started before"
        assert len(posts(slack, DM, FILES_NOTE)) == 1 and len(posts(slack, DM, NEW_TRIP_REPLY)) == 1
        current = await second.bot.runner.sessions.current_conversation(alice)
        assert current is not None and current.conversation_id == fresh.conversation_id, "no second new trip"
        assert current.query_count == 1
        store = second.bot.runner.sessions.store
        for post in ignored:
            assert await store.get_inbound(message_id=message_key(slack.team_id, DM, post["ts"])) is None
        assert await store.get_inbound(message_id=message_key(slack.team_id, DM, missed["ts"])) is not None


async def test_a_dm_that_cannot_be_read_does_not_stop_the_catch_up(
    settings: Settings, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.slack.app")
    async with worker(settings, slack) as first:
        await first.dm("Plan a trip to Oslo")
        await first.dm("Plan a trip to Rome", user=BOB, channel=BOBS_DM)  # the newest DM: read first
    slack.post_user_message(user=ALICE, channel=DM, text="in July")
    slack.post_user_message(user=BOB, channel=BOBS_DM, text="in August")
    # Bob's DM cannot be read (the client's own retries included); Alice's is read all the same.
    slack.fail_next("conversations.history", status=500, retry_after=None, times=3)

    async with worker(settings, slack) as second:
        await caught_up(second)
        assert len(answers(slack, BOBS_DM)) == 1
        assert any(f"Could not read DM {BOBS_DM}" in r.getMessage() for r in caplog.records)
        alices = answers(slack, DM)
        assert len(alices) == 2 and "Oslo" in alices[1]["text"]

    async with worker(settings, slack) as third:  # the next start tries again
        await caught_up(third)
        bobs = answers(slack, BOBS_DM)
        assert len(bobs) == 2 and "Rome" in bobs[1]["text"]
        assert len(answers(slack, DM)) == 2


async def test_socket_mode_catches_up_too(settings: Settings, slack: SlackStandIn) -> None:
    async with worker(settings, slack) as first:  # the first run happened to be over HTTP
        await first.dm(LISBON)
    missed = slack.post_user_message(user=ALICE, channel=DM, text="What hotels?")
    # Alice then replies under her own DM: history now shows it as a thread's parent (thread_ts = ts).
    slack.post_user_message(user=ALICE, channel=DM, text="cheap ones", thread_ts=missed["ts"])
    assert slack._api_conversations_history({"channel": DM})["messages"][0]["thread_ts"] == missed["ts"]

    runner = TripPlannerRunner(settings)
    await runner.start()
    bot = SlackBot(runner, SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url))
    try:
        await bot.start()
        await wait_until(lambda: bot.catch_up_passes >= 1 and bot.in_flight == 0, what="the catch-up")
        replies = answers(slack, DM)
        assert len(replies) == 2 and "Lisbon" in replies[1]["text"]
        assert "thread_ts" not in posts(slack, DM)[1], "answered in the DM, as its live event would have been"
    finally:
        await bot.stop()
        await runner.close()

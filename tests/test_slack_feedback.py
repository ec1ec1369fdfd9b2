"""Slack's feedback buttons, end to end: the real Bolt app posts answers with a `context_actions`
block, and signed `block_actions` requests from the stand-in (form-encoded `payload=`, as Slack
sends them) end or flag the conversation through the same core path as 👍/👎 reactions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.slack import session_user_id
from bots.slack.formatting import render
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import ALICE, BOB, CHANNEL, DM, LISBON, Bot, echo_bot, posts, start_bot
from trip_planner.config import Settings
from trip_planner.core.replies import NOT_YOUR_TRIP, SATISFIED, UNSATISFIED
from trip_planner.core.runner import TripPlannerRunner


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = await start_bot(runner, slack)
    yield started
    await started.bot.stop()


def has_buttons(message: dict[str, Any]) -> bool:
    return any(
        block.get("type") == "context_actions"
        and any(element.get("type") == "feedback_buttons" for element in block.get("elements") or [])
        for block in message.get("blocks") or []
    )


async def click(bot: Bot, slack: SlackStandIn, *, user: str, channel: str, ts: str, value: str) -> tuple[int, str]:
    return await slack.send_action(bot.url, slack.block_actions(user=user, channel=channel, ts=ts, value=value))


async def test_an_answer_shows_feedback_buttons_and_keeps_its_text(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    answer = await bot.dm(LISBON)
    assert has_buttons(answer)
    # The text is the plain-text fallback and the same mrkdwn the sections show (below the trip's
    # card: this first message sets the trip); the stored answer is the model's text, untouched.
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section" and b.get("text")]
    assert "\n\n".join(sections) == answer["text"]
    stored = await runner.unanswered_messages()
    assert stored == []
    record = await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE))
    assert record is not None
    queries = await runner.sessions.store.list_queries(conversation_id=record.conversation_id)
    assert render(queries[0].response)[0][:100] == answer["text"][:100]
    assert "context_actions" not in queries[0].response


async def test_only_the_last_part_of_a_long_answer_has_the_buttons(settings: Settings, slack: SlackStandIn) -> None:
    paragraph = "\n".join(f"Day {i}: walk the old town, eat well, and rest." for i in range(60))
    echo_runner, bot = await echo_bot(settings, slack, repeat=3)
    try:
        await bot.send(slack.user_message(user=ALICE, channel=DM, text=paragraph))
        parts = await bot.answered(DM, 3)
        assert [has_buttons(m) for m in parts] == [False, False, True]
        assert [m["text"] for m in parts] == render("\n".join([paragraph] * 3))
    finally:
        await bot.bot.stop()
        await echo_runner.close()


async def test_positive_ends_the_trip_once_and_a_double_click_changes_nothing(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    alice = session_user_id(slack.team_id, DM, ALICE)
    answer = await bot.dm(LISBON)
    conversation = await runner.sessions.current_conversation(alice)
    assert conversation is not None
    status, body = await click(bot, slack, user=ALICE, channel=DM, ts=answer["ts"], value="positive")
    assert (status, body) == (200, "")  # acknowledged with an empty 200, as Slack expects
    await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation")
    assert await runner.sessions.current_conversation(alice) is None
    ended = await runner.sessions.store.get_conversation(conversation_id=conversation.conversation_id)
    assert ended is not None and ended.status == "ended" and ended.feedback == "satisfied"

    # Clicked again (and both at once): acknowledged, nothing more said or changed.
    results = await asyncio.gather(*(click(bot, slack, user=ALICE, channel=DM, ts=answer["ts"], value="positive") for _ in range(2)))
    assert [s for s, _ in results] == [200, 200]
    await bot.settle()
    assert len(posts(slack, DM, SATISFIED)) == 1 and slack.calls_to("response_url") == []


async def test_negative_records_it_asks_what_to_change_once_and_keeps_the_trip(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    alice = session_user_id(slack.team_id, DM, ALICE)
    answer = await bot.dm(LISBON)
    results = await asyncio.gather(*(click(bot, slack, user=ALICE, channel=DM, ts=answer["ts"], value="negative") for _ in range(2)))
    assert [s for s, _ in results] == [200, 200]
    await wait_until(lambda: len(posts(slack, DM, UNSATISFIED)) == 1, what="the question")
    await bot.settle()
    assert len(posts(slack, DM, UNSATISFIED)) == 1  # the double click asked once
    current = await runner.sessions.current_conversation(alice)
    assert current is not None and current.feedback == "unsatisfied"

    # After the rework, 👎 on the new answer asks again; then 👍 closes the trip.
    rework = await bot.dm("Cheaper hotels please")
    await click(bot, slack, user=ALICE, channel=DM, ts=rework["ts"], value="negative")
    await wait_until(lambda: len(posts(slack, DM, UNSATISFIED)) == 2, what="the second question")
    await click(bot, slack, user=ALICE, channel=DM, ts=rework["ts"], value="positive")
    await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation")
    assert await runner.sessions.current_conversation(alice) is None


async def test_someone_else_clicking_is_told_privately_and_changes_nothing(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    alice = session_user_id(slack.team_id, CHANNEL, ALICE)
    mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
    await bot.send(slack.app_mention(mention))
    [answer] = await bot.answered(CHANNEL, 1, thread_ts=mention["ts"])
    assert has_buttons(answer)
    for value in ("positive", "negative"):
        status, _ = await click(bot, slack, user=BOB, channel=CHANNEL, ts=answer["ts"], value=value)
        assert status == 200
    await wait_until(lambda: len(slack.calls_to("response_url")) == 2, what="the private notes")
    for call in slack.calls_to("response_url"):
        assert call.args["text"] == NOT_YOUR_TRIP and call.args["response_type"] == "ephemeral"
        assert call.args["replace_original"] is False  # the answer and its buttons stay
    await bot.settle()
    assert posts(slack, CHANNEL, SATISFIED) == [] and posts(slack, CHANNEL, UNSATISFIED) == []
    current = await runner.sessions.current_conversation(alice)
    assert current is not None and current.feedback is None

    # The owner's click in the thread closes it, with the confirmation in the thread.
    await click(bot, slack, user=ALICE, channel=CHANNEL, ts=answer["ts"], value="positive")
    await wait_until(lambda: len(posts(slack, CHANNEL, SATISFIED)) == 1, what="the confirmation")
    assert posts(slack, CHANNEL, SATISFIED)[0]["thread_ts"] == mention["ts"]
    assert await runner.sessions.current_conversation(alice) is None


async def test_the_click_is_acknowledged_before_the_work_is_done(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    """Slack wants the ack within 3 s: the HTTP answer does not wait for the confirmation post."""
    answer = await bot.dm(LISBON)
    released = slack.hold("chat.postMessage")  # the confirmation's post hangs until released
    try:
        clicked = asyncio.create_task(click(bot, slack, user=ALICE, channel=DM, ts=answer["ts"], value="positive"))
        await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation's post (held)")
        # The work is stuck on Slack's held response, yet the click has its answer.
        await wait_until(clicked.done, what="the click's HTTP answer while the work is held")
        assert clicked.result()[0] == 200 and bot.bot.in_flight == 1
    finally:
        released.set()
    await wait_until(lambda: bot.bot.in_flight == 0, what="the confirmation to finish")


async def test_a_reaction_still_works_on_an_answer_with_buttons(bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    answer = await bot.dm(LISBON)
    assert has_buttons(answer)
    await bot.send(slack.reaction_added(user=ALICE, channel=DM, ts=answer["ts"], reaction="+1"))
    await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation")
    assert await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE)) is None


async def test_a_payload_slack_would_not_send_is_refused_and_an_unsigned_one_too(bot: Bot, slack: SlackStandIn) -> None:
    answer = await bot.dm(LISBON)
    payload = slack.block_actions(user=ALICE, channel=DM, ts=answer["ts"], value="positive")
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)}).encode()
    status, _ = await slack.post_signed(bot.url, body, content_type="application/x-www-form-urlencoded", secret="x" * 32)
    assert status == 401
    payload["actions"][0]["value"] = "something-else"
    assert (await slack.send_action(bot.url, payload))[0] == 200
    await bot.settle()
    assert posts(slack, DM, SATISFIED) == []


async def test_the_core_rules_for_buttons_on_both_databases(database_url: str, settings: Settings) -> None:
    """Owner only, and one click counted per button and answer, across concurrent clicks."""
    from tests.conftest import with_database
    from trip_planner.core.messages import Reaction

    core = TripPlannerRunner(with_database(settings, database_url))
    await core.start()
    try:
        await core.ask("u", LISBON)
        conversation = await core.sessions.current_conversation("u")
        assert conversation is not None
        await core.remember_answer(user_id="u", conversation_id=conversation.conversation_id, message_ref="ref-1")
        assert await core.react(Reaction("other", "ref-1", "+1"), button=True) == "not_owner"
        assert await core.react(Reaction("other", "ref-1", "+1")) == "ignored"  # a reaction: as before
        assert await core.react(Reaction("u", "unknown", "+1"), button=True) == "ignored"
        clicks = await asyncio.gather(*(core.react(Reaction("u", "ref-1", "-1"), button=True) for _ in range(3)))
        assert sorted(clicks) == ["ignored", "ignored", "unsatisfied"]
        assert await core.react(Reaction("u", "ref-1", "+1"), button=True) == "satisfied"
        assert await core.react(Reaction("u", "ref-1", "+1"), button=True) == "ignored"
        ended = await core.sessions.store.get_conversation(conversation_id=conversation.conversation_id)
        assert ended is not None and ended.status == "ended" and ended.feedback == "satisfied"
    finally:
        await core.close()


async def test_a_click_over_socket_mode_is_acknowledged_and_counts(slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    """In Socket Mode a click comes as an `interactive` envelope; the ack goes back over the socket."""
    from bots.slack import SlackBot, SlackConfig

    config = SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url)
    socket_bot = SlackBot(runner, config, drain_timeout_s=10)
    await socket_bot.start()
    try:
        await slack.send_envelope(slack.event_callback(slack.user_message(user=ALICE, channel=DM, text=LISBON)))
        await wait_until(lambda: len(slack.bot_messages(DM)) == 1 and socket_bot.in_flight == 0, what="the answer")
        [answer] = slack.bot_messages(DM)
        envelope = await slack.send_envelope(slack.block_actions(user=ALICE, channel=DM, ts=answer["ts"], value="positive"), type="interactive")
        await wait_until(envelope.acked.is_set, what="the ack")
        assert envelope.ack == {"envelope_id": envelope.envelope_id}
        await wait_until(lambda: len(posts(slack, DM, SATISFIED)) == 1, what="the confirmation")
        assert await runner.sessions.current_conversation(session_user_id(slack.team_id, DM, ALICE)) is None
    finally:
        await socket_bot.stop()

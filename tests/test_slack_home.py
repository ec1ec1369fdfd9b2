"""The App Home tab, end to end through the real Bolt app and the stand-in's `views.publish`: it
shows the open trip's card and recent trips with how each ended, refreshes after an answer, and its
New trip / End trip buttons go through the same core path as `/trip new` and `/trip end`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bots.slack import SlackBot, session_user_id
from bots.slack.home_view import END_TRIP_ACTION, NEW_TRIP_ACTION
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import ALICE, DM, LISBON, Bot, start_bot
from trip_planner.core.replies import HOME_NO_TRIP, HOME_OUTCOMES
from trip_planner.core.runner import TripPlannerRunner


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = await start_bot(runner, slack)
    started.bot.listeners.home.refresh_after_s = 0.05
    yield started
    await started.bot.stop()


async def open_home(bot: Bot, slack: SlackStandIn) -> dict:
    before = len(slack.calls_to("views.publish"))
    status, _ = await bot.send({"type": "app_home_opened", "user": ALICE, "channel": DM, "tab": "home", "event_ts": slack.next_ts()})
    assert status == 200
    await wait_until(lambda: len(slack.calls_to("views.publish")) > before, what="the Home published")
    return slack.home_views[ALICE]


def headers(view: dict) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def buttons(view: dict) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_a_new_person_sees_an_invitation_and_a_new_trip_button(bot: Bot, slack: SlackStandIn) -> None:
    view = await open_home(bot, slack)
    assert HOME_NO_TRIP in slack.home_text(ALICE)
    assert buttons(view) == [NEW_TRIP_ACTION]


async def test_the_home_shows_the_open_trip_and_refreshes_after_an_answer(bot: Bot, slack: SlackStandIn) -> None:
    await open_home(bot, slack)
    published = len(slack.calls_to("views.publish"))
    await bot.dm(f"{LISBON} with 2 adults, budget 3000 EUR")
    await wait_until(lambda: len(slack.calls_to("views.publish")) > published, what="the Home refreshed")
    view = slack.home_views[ALICE]
    assert "Lisbon" in headers(view)
    shown = slack.home_text(ALICE)
    assert "2 adults" in shown and "3,000 EUR" in shown and "EUR" in shown
    assert buttons(view) == [NEW_TRIP_ACTION, END_TRIP_ACTION]
    assert HOME_OUTCOMES["open"] in shown


async def test_end_trip_closes_it_as_satisfied_and_new_trip_starts_another(
    bot: Bot, slack: SlackStandIn, runner: TripPlannerRunner
) -> None:
    person = session_user_id(slack.team_id, DM, ALICE)
    await bot.dm(LISBON)
    trip = await runner.sessions.current_conversation(person)
    await open_home(bot, slack)
    published = len(slack.calls_to("views.publish"))
    status, _ = await slack.send_action(bot.url, slack.home_action(user=ALICE, action_id=END_TRIP_ACTION))
    assert status == 200
    await wait_until(lambda: len(slack.calls_to("views.publish")) > published, what="the Home after End trip")
    assert await runner.sessions.current_conversation(person) is None
    assert trip is not None
    ended = await runner.sessions.store.get_conversation(conversation_id=trip.conversation_id)
    assert ended is not None and ended.feedback == "satisfied"  # as 👍 and /trip end record it
    assert HOME_OUTCOMES["satisfied"] in slack.home_text(ALICE) and buttons(slack.home_views[ALICE]) == [NEW_TRIP_ACTION]

    published = len(slack.calls_to("views.publish"))
    await slack.send_action(bot.url, slack.home_action(user=ALICE, action_id=NEW_TRIP_ACTION))
    await wait_until(lambda: len(slack.calls_to("views.publish")) > published, what="the Home after New trip")
    fresh = await runner.sessions.current_conversation(person)
    assert fresh is not None and fresh.conversation_id != trip.conversation_id
    assert buttons(slack.home_views[ALICE]) == [NEW_TRIP_ACTION, END_TRIP_ACTION]


async def test_a_home_click_is_acknowledged_even_after_a_restart(
    runner: TripPlannerRunner, slack: SlackStandIn
) -> None:
    first = await start_bot(runner, slack)
    await first.dm(LISBON)
    await open_home(first, slack)
    await first.bot.stop()
    second = await start_bot(runner, slack)  # a fresh process: it never saw the Home opened
    try:
        person = session_user_id(slack.team_id, DM, ALICE)
        status, _ = await slack.send_action(second.url, slack.home_action(user=ALICE, action_id=END_TRIP_ACTION))
        assert status == 200
        await wait_until(lambda: json.dumps(slack.home_views[ALICE]).count(END_TRIP_ACTION) == 0, what="the Home updated")
        assert await runner.sessions.current_conversation(person) is None
    finally:
        await second.bot.stop()

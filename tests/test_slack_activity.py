"""The status line follows what the planner does ("is estimating flights to Lisbon…"), end to end
through the real Bolt app and the stand-in's `assistant.threads.setStatus`: changes come from the
tools the agent calls, are sent in order and never after the clear, and a channel mention keeps its
placeholder untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.models import LlmRequest, LlmResponse

from tests.standins.slack import SlackStandIn, slack_standin  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import CHANNEL, DM, LISBON, ALICE, posts, worker
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.replies import PLACEHOLDER, STATUS, activity_status
from trip_planner.models.offline import OfflinePlannerModel


class PacedModel(OfflinePlannerModel):
    """The offline planner, a tenth of a second a call: a planning turn takes long enough (several
    calls) for the status line to change while it runs."""

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> AsyncGenerator[LlmResponse, Any]:
        await asyncio.sleep(0.1)
        async for response in super().generate_content_async(llm_request, stream):
            yield response


def statuses(slack: SlackStandIn) -> list[str]:
    return [str(c.args["status"]) for c in slack.calls_to("assistant.threads.setStatus")]


async def test_the_status_line_says_which_tool_the_planner_is_using(settings: Settings, slack: SlackStandIn) -> None:
    async with worker(settings, slack, agent=build_concierge(PacedModel())) as bot:
        bot.bot.channel.status_every_s = 0.05
        await bot.dm(f"{LISBON} from London")
        said = statuses(slack)
        assert said[0] == STATUS and said[-1] == ""  # the generic line first, cleared by the answer last
        activities = said[1:-1]
        assert activities, "no status followed the planner's tools"
        known = {activity_status(tool, {"destinations": ["Lisbon"], "origin": "London", "city": "Lisbon"})
                 for tool in ("flight_specialist", "hotel_specialist", "budget_specialist", "update_trip_plan",
                              "get_typical_weather", "get_destination_overview", "lookup_city", "get_public_holidays")}
        assert set(activities) <= known
        assert slack.statuses == {}  # nothing left on screen after the answer


async def test_changes_are_coalesced_and_none_is_sent_after_the_answer(settings: Settings, slack: SlackStandIn) -> None:
    async with worker(settings, slack, agent=build_concierge(PacedModel())) as bot:
        bot.bot.channel.status_every_s = 60.0  # at most one change a minute: the answer comes first
        await bot.dm(f"{LISBON} from London")
        await asyncio.sleep(0.3)  # a change still pending would have been sent by now
        assert statuses(slack) == [STATUS, ""]


async def test_a_channel_mention_keeps_its_placeholder(settings: Settings, slack: SlackStandIn) -> None:
    async with worker(settings, slack, agent=build_concierge(PacedModel())) as bot:
        mention = slack.user_message(user=ALICE, channel=CHANNEL, text=f"<@{slack.bot_user_id}> {LISBON}")
        await bot.send(slack.app_mention(mention))
        await bot.answered(CHANNEL, 1, thread_ts=mention["ts"])
        assert posts(slack, CHANNEL)[0]["text"] == PLACEHOLDER
        assert statuses(slack) == []


def test_the_words_name_the_place_and_fall_back_without_one() -> None:
    assert activity_status("flight_specialist", {"origin": "SFO", "destinations": ["Kyoto"]}) == "is estimating flights from SFO…"
    assert activity_status("hotel_specialist", {"destinations": ["Kyoto", "Osaka"]}) == "is checking hotels in Kyoto and Osaka…"
    assert activity_status("hotel_specialist", {}) == "is checking hotels…"
    assert activity_status("some_new_tool", {"city": "Paris"}) is None

"""The trip as a Discord embed, end to end through the real discord.py client and the stand-in
(which refuses embeds over Discord's limits with 50035): an answer that changes the trip carries the
embed on its first piece, small talk carries none, and any trip stays within the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.discord.embed import trip_embed
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_embeds import embeds_error
from tests.standins.discord_harness import TOKEN, running_bot
from tests.test_discord import ALICE, CHANNEL, GUILD, dm_answer
from trip_planner.config import Settings
from trip_planner.core.replies import CARD_DATES, CARD_TRAVELLERS
from trip_planner.core.trip_card import TripCard


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        standin.add_guild(GUILD, channels=[CHANNEL])
        yield standin


async def test_a_planning_answer_carries_the_trip_embed_and_small_talk_none(
    discord_standin: DiscordStandIn, settings: Settings
) -> None:
    async with running_bot(discord_standin, settings):
        answer = await dm_answer(discord_standin, ALICE, "I want to go to Lisbon for 4 days in May with 2 adults")
        [embed] = answer["request"]["embeds"]
        assert embed["title"] == "Lisbon"
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert "May" in fields[CARD_DATES] and "2" in fields[CARD_TRAVELLERS]
        assert answer["request"]["content"]  # the answer's text stays the message's content
        stored = discord_standin.channel_messages[discord_standin.dm_channel(ALICE)][answer["message_id"]]
        assert stored["embeds"] == [embed]

        thanks = await dm_answer(discord_standin, ALICE, "Thanks!")
        assert not thanks["request"].get("embeds")


def test_any_trip_stays_within_discords_embed_limits() -> None:
    huge = TripCard(destinations=tuple("A very long town name" for _ in range(40)), origin="o" * 3000, dates="d" * 3000,
                    travellers="t" * 3000, budget="b" * 3000, estimate="e" * 3000, hotel_class="h" * 3000)
    body = {"embeds": [trip_embed(huge).to_dict()]}
    assert embeds_error(body) is None
    assert embeds_error({"embeds": [{"title": "x" * 300}]}) is not None  # the stand-in does refuse

"""The trip as a Block Kit card in Slack, end to end through the real Bolt app and the stand-in
(which refuses blocks Slack would refuse): an answer that changes the trip shows the card above its
text; one that does not shows none; the buttons stay last; every limit holds for any trip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.slack.card_blocks import MAX_BLOCKS, part_blocks
from bots.slack.formatting import render
from tests.standins.slack import SlackStandIn, slack_standin  # noqa: F401  (the `slack` fixture)
from tests.standins.slack_ai import SlackAIMixin
from tests.test_slack_events import LISBON, Bot, start_bot
from trip_planner.core.replies import CARD_DATES, CARD_TRAVELLERS
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.core.trip_card import TripCard


@pytest.fixture
async def bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[Bot]:
    started = await start_bot(runner, slack)
    yield started
    await started.bot.stop()


def kinds(message: dict[str, Any]) -> list[str]:
    return [b["type"] for b in message.get("blocks") or []]


def field_texts(message: dict[str, Any]) -> list[str]:
    return [f["text"] for b in message.get("blocks") or [] if b["type"] == "section" for f in b.get("fields") or []]


async def test_a_planning_answer_shows_the_trip_card_above_its_text(bot: Bot, slack: SlackStandIn) -> None:
    answer = await bot.dm(f"{LISBON} with 2 adults")
    blocks = answer["blocks"]
    assert kinds(answer)[:2] == ["header", "section"] and kinds(answer)[-1] == "context_actions"
    assert blocks[0]["text"]["text"] == "Lisbon"
    fields = field_texts(answer)
    assert any(f.startswith(f"*{CARD_DATES}*") and "May" in f for f in fields)
    assert any(f.startswith(f"*{CARD_TRAVELLERS}*") and "2" in f for f in fields)
    # The text is still all there, in sections below the card, and as the plain fallback.
    shown = [b["text"]["text"] for b in blocks if b["type"] == "section" and b.get("text")]
    assert "\n\n".join(shown) == answer["text"]


async def test_an_answer_that_leaves_the_trip_as_it_was_shows_no_card(bot: Bot, slack: SlackStandIn) -> None:
    await bot.dm(LISBON)
    thanks = await bot.dm("Thanks!")
    assert "header" not in kinds(thanks) and field_texts(thanks) == []
    assert kinds(thanks)[-1] == "context_actions"  # the buttons are still there


async def test_a_change_to_the_trip_shows_the_card_again_with_the_new_facts(bot: Bot, slack: SlackStandIn) -> None:
    await bot.dm(LISBON)
    changed = await bot.dm("Make it 3 travellers")
    assert "header" in kinds(changed)
    assert any(f.startswith(f"*{CARD_TRAVELLERS}*") and "3" in f for f in field_texts(changed))


def test_any_trip_and_any_part_stay_within_slacks_limits() -> None:
    huge = TripCard(
        destinations=tuple(f"Town number {i} with a long name" for i in range(20)),
        origin="<!channel> & friends " * 100,
        dates="x" * 5000,
        travellers="y" * 5000,
        budget="z" * 5000,
        estimate="w" * 5000,
        hotel_class="v" * 5000,
    )
    headed = "\n\n".join(f"*Section {i}*\nline" for i in range(200))
    [part, *_] = render(headed)
    blocks = part_blocks(part, card=huge, controls=True)
    assert blocks is not None and len(blocks) <= MAX_BLOCKS
    assert SlackAIMixin.blocks_error(blocks) is None
    assert "<!channel>" not in str(blocks)  # the person's words cannot ping anyone
    shown = "\n\n".join(b["text"]["text"] for b in blocks if b["type"] == "section" and b.get("text"))
    assert shown == part  # nothing of the part is lost to the block limit
    assert part_blocks("plain", card=None, controls=False) is None  # plain text needs no blocks

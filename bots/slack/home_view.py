"""The App Home tab as Block Kit: the open trip's card, "New trip" / "End trip" buttons, and the
person's recent trips with how each ended. Layout only: the facts come from `trip_planner.core.home`.

Kept within a Home view's limits (100 blocks; the card's own limits in `card_blocks`), and every word
a person wrote (places) is escaped, so a Home can never be refused or ping anyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, DividerBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bots.slack.card_blocks import card_blocks
from bots.slack.formatting import escape
from trip_planner.core import replies
from trip_planner.core.home import Home

NEW_TRIP_ACTION = "trip_home_new"
END_TRIP_ACTION = "trip_home_end"


def _header(text: str) -> dict[str, Any]:
    return HeaderBlock(text=PlainTextObject(text=text)).to_dict()


def _text(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text[:3000], verbatim=True)).to_dict()


def home_view(home: Home, channel: str) -> dict[str, Any]:
    """The `home` view to publish for the person whose DM with the app is `channel` (the buttons
    carry it: a click names the DM, the clicker names the person)."""
    blocks: list[dict[str, Any]] = [_header(replies.HOME_CURRENT)]
    if home.current is not None:
        blocks += card_blocks(home.current)[:-1]  # the card without its trailing divider
    else:
        blocks.append(_text(replies.HOME_NO_FACTS if home.has_open_trip else replies.HOME_NO_TRIP))
    buttons = [ButtonElement(text=replies.HOME_NEW_TRIP, action_id=NEW_TRIP_ACTION, value=channel, style="primary")]
    if home.has_open_trip:
        buttons.append(ButtonElement(text=replies.HOME_END_TRIP, action_id=END_TRIP_ACTION, value=channel))
    blocks.append(ActionsBlock(elements=buttons, block_id="trip_home_buttons").to_dict())
    blocks += [DividerBlock().to_dict(), _header(replies.HOME_RECENT)]
    lines = []
    for trip in home.recent:
        when = dt.datetime.fromtimestamp(trip.started_at, dt.timezone.utc).strftime("%-d %b %Y")
        title = escape(trip.card.title if trip.card is not None else replies.CARD_NO_PLACE)
        lines.append(f"• *{title}*, {when}: {replies.HOME_OUTCOMES.get(trip.outcome, trip.outcome)}")
    blocks.append(_text("\n".join(lines) if lines else replies.HOME_NONE_YET))
    return {"type": "home", "blocks": blocks[:100]}

"""The trip as a Discord embed: the same facts as Slack's card (`trip_planner.core.trip_card`),
sent with the first piece of an answer that changed the trip.

Why an embed and not Components V2: a V2 message cannot carry `content`, and the answer's text must
stay plain content (split at 2,000 characters, mentions disabled, searchable); an embed sits under
it. Discord refuses a message whose embed breaks a limit (400, code 50035), which would cost the
answer, so every value is cut to the limits here: title 256, 25 fields of name 256 and value 1,024,
6,000 characters in all.
"""

from __future__ import annotations

import discord

from trip_planner.core.trip_card import TripCard

TITLE_CHARS, FIELD_NAME_CHARS, FIELD_VALUE_CHARS, MAX_FIELDS, TOTAL_CHARS = 256, 256, 1024, 25, 6000
COLOUR = discord.Colour.blurple()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trip_embed(card: TripCard) -> discord.Embed:
    """The card as an embed: the places as its title, each known fact as an inline field."""
    title = _cut(card.title, TITLE_CHARS)
    embed = discord.Embed(title=title, colour=COLOUR)
    used = len(title)
    for label, value in card.fields()[:MAX_FIELDS]:
        name, shown = _cut(label, FIELD_NAME_CHARS), _cut(value, FIELD_VALUE_CHARS)
        if used + len(name) + len(shown) > TOTAL_CHARS:
            break
        used += len(name) + len(shown)
        embed.add_field(name=name, value=shown, inline=True)
    return embed

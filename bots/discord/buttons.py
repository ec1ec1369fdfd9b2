"""👍 Done / 👎 Rework buttons under an answer, as persistent components.

Each button is a `DynamicItem` with a fixed custom_id (`trip:done`, `trip:rework`), registered once at
start (`add_dynamic_items` in `setup_hook`), so a click on an answer sent before a restart still
reaches us. Dynamic items rather than a `View` stored per message: discord.py keeps a persistent view
sent with each message in memory for good, while dynamic items are matched by custom_id alone.

A click is acknowledged first (a deferred update: Discord wants a response within 3 s, and the
message itself is left as it is), then goes through the same core path as a 👍/👎 reaction
(`_PlannerMixin.feedback` → `runner.react(..., button=True)`); a stranger's click gets a private
(ephemeral) follow-up.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bots.discord.formatting import NO_MENTIONS
from trip_planner.core import replies

log = logging.getLogger(__name__)

# custom_id -> the reaction the button stands for (the core reads both the same way).
EMOJI = {"done": "👍", "rework": "👎"}


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"trip:(?P<kind>done|rework)"):
    """One of the two buttons; the custom_id says which."""

    def __init__(self, kind: str) -> None:
        done = kind == "done"
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if done else discord.ButtonStyle.secondary,
                label=replies.DONE_LABEL if done else replies.REWORK_LABEL,
                emoji=EMOJI[kind],
                custom_id=f"trip:{kind}",
            )
        )
        self.kind = kind

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(match["kind"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await on_click(interaction, EMOJI[self.kind])


def feedback_view() -> discord.ui.View:
    """The buttons to send under an answer (nothing is kept per message: see the module docstring)."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("done"))
    view.add_item(FeedbackButton("rework"))
    return view


async def on_click(interaction: discord.Interaction[Any], emoji: str) -> None:
    client: Any = interaction.client
    inflight = getattr(client, "inflight", None)
    if inflight is not None:
        inflight.track_current()  # a stop waits for the click to be handled
    message, channel_id = interaction.message, interaction.channel_id
    if message is None or channel_id is None:
        return
    try:
        await interaction.response.defer()  # first, within Discord's 3 s: "the message stays as it is"
    except discord.HTTPException as err:
        log.warning("Could not acknowledge a button click (%s); handling it anyway", err.status)
    outcome = await client.feedback(
        user_id=interaction.user.id, channel_id=channel_id, guild_id=interaction.guild_id,
        message_id=message.id, emoji=emoji, button=True,
    )
    if outcome == "not_owner":
        try:
            await interaction.followup.send(replies.NOT_YOUR_TRIP, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.warning("Could not tell someone a trip is not theirs (%s)", err.status)

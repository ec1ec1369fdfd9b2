"""The app commands (`/newtrip`, `/endtrip`): the core answers, Discord's 3-second window is kept
by the core's deadline-or-defer helper (a deferral shows "thinking…" and allows 15 minutes)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bots.discord.formatting import NO_MENTIONS
from bots.discord.identity import session_user_id
from trip_planner.core.deadline import reply_within
from trip_planner.core.inflight import InFlight
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)


def add_commands(
    tree: app_commands.CommandTree[Any],
    runner: TripPlannerRunner,
    inflight: InFlight,
    *,
    answer_within_s: Callable[[], float],
    handled: Counter[str],
) -> None:
    async def respond(interaction: discord.Interaction, word: str) -> None:
        inflight.track_current()
        user_id = session_user_id(user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id)
        ephemeral = interaction.guild_id is not None  # in a server, only the person sees the confirmation
        try:
            await reply_within(
                runner.command(user_id, word),
                deadline_s=answer_within_s(),
                reply=lambda text: interaction.response.send_message(text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS),
                defer=lambda: interaction.response.defer(thinking=True, ephemeral=ephemeral),
                follow_up=lambda text: interaction.followup.send(text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS),
            )
        finally:
            handled["command"] += 1

    @app_commands.command(name="newtrip", description="Start planning a new trip (the current one is closed).")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    async def newtrip(interaction: discord.Interaction) -> None:
        await respond(interaction, "new")

    @app_commands.command(name="endtrip", description="Finish the current trip.")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    async def endtrip(interaction: discord.Interaction) -> None:
        await respond(interaction, "end")

    tree.add_command(newtrip)
    tree.add_command(endtrip)

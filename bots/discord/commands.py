"""The app commands: `/trip plan|new|end` and the older `/newtrip`, `/endtrip`.

The core answers; Discord's 3-second window is kept by the core's deadline-or-defer helper (a
deferral shows "thinking…" and allows 15 minutes). `/trip` is installable to a person's account too
(a user install), so it works in DMs and group DMs with people who share no server with the bot:
there the bot can read and post nothing, so `/trip plan` is answered through the interaction's
follow-up webhook (the channel routes it by the stored interaction token), never a channel message.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bots.discord.formatting import NO_MENTIONS
from bots.discord.identity import inbound_message_id, person_patterns, session_user_id
from trip_planner.core import replies
from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.deadline import reply_within
from trip_planner.core.inflight import InFlight
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)


def add_commands(
    tree: app_commands.CommandTree[Any],
    runner: TripPlannerRunner,
    inflight: InFlight,
    *,
    channel: Channel,
    answer_within_s: Callable[[], float],
    handled: Counter[str],
) -> None:
    async def respond(interaction: discord.Interaction, word: str) -> None:
        inflight.track_current()
        user_id = session_user_id(user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id)
        ephemeral = interaction.guild_id is not None  # in a server, only the person sees the confirmation
        work = runner.forget(person_patterns(interaction.user.id)) if word == "forget" else runner.command(user_id, word)
        try:
            await reply_within(
                work,
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

    trip = app_commands.Group(
        name="trip",
        description="Plan a trip with the trip planner.",
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
    )

    @trip.command(name="plan", description="Ask the trip planner (it remembers your trip).")
    @app_commands.describe(request="What you'd like, e.g. 5 days in Lisbon in May for 2")
    async def plan(interaction: discord.Interaction, request: app_commands.Range[str, 1, 4000]) -> None:
        inflight.track_current()
        try:
            await interaction.response.defer(thinking=True)  # at once: the turn takes longer than 3 s
            inbound = interaction_inbound(interaction, request)
            try:
                await runner.handle(inbound, channel)
            except Exception:
                log.exception("Could not answer Discord interaction %s", inbound.message_id)
                await interaction.followup.send(replies.APOLOGY, allowed_mentions=NO_MENTIONS)
        finally:
            handled["command"] += 1

    @trip.command(name="new", description="Start planning a new trip (the current one is closed).")
    async def trip_new(interaction: discord.Interaction) -> None:
        await respond(interaction, "new")

    @trip.command(name="end", description="Finish the current trip.")
    async def trip_end(interaction: discord.Interaction) -> None:
        await respond(interaction, "end")

    async def forget_me(interaction: discord.Interaction, confirm: bool) -> None:
        """The first time explains and asks for `confirm: True`; stateless, so any worker may get it."""
        if not confirm:
            await interaction.response.send_message(
                replies.forget_confirm("/forget confirm:True"), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await respond(interaction, "forget")

    @app_commands.command(name="forget", description="Erase everything the trip planner keeps about you.")
    @app_commands.describe(confirm="True to erase now (it cannot be undone)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def forget(interaction: discord.Interaction, confirm: bool = False) -> None:
        await forget_me(interaction, confirm)

    tree.add_command(newtrip)
    tree.add_command(endtrip)
    tree.add_command(trip)
    tree.add_command(forget)


def interaction_inbound(interaction: discord.Interaction, text: str) -> Inbound:
    """`/trip plan` as the core's inbound message. Its destination is the interaction's follow-up
    webhook (application id and token, valid 15 minutes), so any worker can deliver or recover the
    answer within that time; it has no place to catch up (the bot may not read that channel)."""
    return Inbound(
        message_id=inbound_message_id(interaction.id),
        user_id=session_user_id(user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id),
        text=text.strip(),
        reply_to={
            "application_id": str(interaction.application_id),
            "interaction_token": interaction.token,
            "channel_id": str(interaction.channel_id) if interaction.channel_id else None,
            "guild_id": str(interaction.guild_id) if interaction.guild_id else None,
        },
    )

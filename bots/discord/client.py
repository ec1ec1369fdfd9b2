"""The discord.py clients and their listeners: which gateway events are a person's message or
reaction, translated into the core's calls.

Everything that decides (dedupe, persistence, locking, delivery, which reaction counts, recovery,
catch-up) lives in the core; this module only translates ids and text. One mixin serves the plain
and the sharded client, as discord.py's own `BotBase` does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from typing import Any

import discord
from discord import app_commands

from bots.discord.buttons import FeedbackButton
from bots.discord.channel import DiscordChannel
from bots.discord.commands import add_commands
from bots.discord.formatting import NO_MENTIONS
from bots.discord.gateway_guard import guard_parsers
from bots.discord.identity import answer_ref, inbound_message_id, place_key, session_user_id
from trip_planner.core import replies
from trip_planner.core.catch_up import CatchUp
from trip_planner.core.channel import Inbound
from trip_planner.core.health import HealthServer
from trip_planner.core.inflight import InFlight
from trip_planner.core.recovery import SWEEP_EVERY_S
from trip_planner.core.messages import Reaction, ReactionOutcome
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)


def build_intents(*, server_mentions: bool) -> discord.Intents:
    """Only what the planner reads: DMs and DM reactions; server messages and reactions for mentions.

    No privileged intent: Discord delivers the text of DMs and of messages that mention the bot
    without the message-content intent.
    """
    intents = discord.Intents.none()
    intents.guilds = True  # app commands in servers and the channel cache
    intents.dm_messages = True
    intents.dm_reactions = True
    if server_mentions:
        intents.guild_messages = True
        intents.guild_reactions = True
    return intents


class _PlannerMixin:
    """The adapter's event handlers, shared by the plain and the sharded client."""

    # Provided by discord.Client in the concrete classes.
    user: discord.ClientUser | None
    tree: app_commands.CommandTree[Any]

    def __init__(
        self,
        runner: TripPlannerRunner,
        *,
        server_mentions: bool = True,
        sync_commands: bool = True,
        answer_within_s: float = 2.0,
        identify_interval_s: float = 5.0,
        **options: Any,
    ) -> None:
        options.setdefault("intents", build_intents(server_mentions=server_mentions))
        options.setdefault("allowed_mentions", NO_MENTIONS)
        options.setdefault("max_messages", 1000)
        super().__init__(**options)  # discord.Client or AutoShardedClient, next in the MRO
        guard_parsers(self._connection.parsers)  # type: ignore[attr-defined]  # a bad payload never ends the connection
        self.health_server: HealthServer | None = None  # on TRIP_PLANNER_HEALTH_PORT, when set (see `serve`)
        self.runner = runner
        self.server_mentions = server_mentions
        self.sync_commands_on_setup = sync_commands
        self.answer_within_s = answer_within_s
        self.identify_interval_s = identify_interval_s
        self.inflight = InFlight("discord")
        self.channel = DiscordChannel(self, translate=self.inbound_of)  # type: ignore[arg-type]
        # Discord does not redeliver: after a READY, history is read for what no session received.
        # Answers are awaited in the pass, so a finished pass means answered.
        self.handled: Counter[str] = Counter()
        self.catch_up = CatchUp(
            runner, self.channel, self.inflight, wait_for_answers=True, on_pass=lambda: self.handled.update(["catch_up"])
        )
        # Events fully handled (answered or skipped) by kind, and finished catch-up passes: for health
        # checks, logs and tests.
        self.recovery_every_s = SWEEP_EVERY_S
        self._recovery: asyncio.Task[None] | None = None
        self.tree = app_commands.CommandTree(self)  # type: ignore[arg-type]
        add_commands(
            self.tree, runner, self.inflight, channel=self.channel, answer_within_s=lambda: self.answer_within_s, handled=self.handled
        )

    @property
    def typing_every_s(self) -> float:
        return self.channel.typing_every_s

    @typing_every_s.setter
    def typing_every_s(self, value: float) -> None:
        self.channel.typing_every_s = value

    @property
    def in_flight(self) -> int:
        return len(self.inflight)

    # -- lifecycle ------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Runs at the end of login: start the recovery sweep, sync the app commands."""
        self.add_dynamic_items(FeedbackButton)  # type: ignore[attr-defined]  # clicks on answers sent before a restart too
        self._recovery = asyncio.create_task(
            self.runner.run_recovery(self.channel, every_s=self.recovery_every_s),
            name="discord-recovery",
        )
        if not self.sync_commands_on_setup:
            return
        try:
            synced = await self.tree.sync()
            log.info("Synced %d app commands: %s", len(synced), ", ".join(f"/{c.name}" for c in synced))
        except discord.HTTPException as err:
            # Not fatal: the commands registered last time still work.
            log.warning("Could not sync app commands (%s %s); continuing", err.status, err.text)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord allows one IDENTIFY per 5 s per bucket; the interval is a parameter for tests."""
        if not initial and self.identify_interval_s > 0:
            await asyncio.sleep(self.identify_interval_s)

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        await super().close()  # type: ignore[misc]

    async def on_ready(self) -> None:
        """Fires at start and again after every reconnect that could not resume: exactly when
        messages may have been sent that no gateway session received."""
        user = self.user
        log.info("Discord bot ready as %s (id %s)", user, user.id if user else "?")
        if not isinstance(self, discord.AutoShardedClient):  # shards catch up in on_shard_ready
            self.request_catch_up()

    async def on_connect(self) -> None:
        """Dispatched as the READY arrives, before the messages after it; the catch-up is asked for
        later (on_ready / on_shard_ready wait for the guilds), so live messages are held until then."""
        self.catch_up.expect()

    def request_catch_up(self) -> None:
        self.catch_up.request()

    async def drain(self, timeout_s: float, *, force: asyncio.Event | None = None) -> bool:
        """Wait for the answers in flight, at most `timeout_s` or until `force` is set. Messages
        arriving meanwhile are answered too: the gateway is still open, and Discord does not
        redeliver; a catch-up pass stops taking new messages (the next start finds them)."""
        return await self.inflight.drain(timeout_s, force=force, cancel=False)

    # -- messages -------------------------------------------------------------------------------

    def inbound_of(self, message: discord.Message) -> Inbound | None:
        """The message as the core's inbound message, or None when it is not for the bot."""
        me = self.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id is not None:
            return None  # our own echo, other bots, webhooks
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None  # joins, pins, thread notices…
        guild_id = message.guild.id if message.guild is not None else getattr(message.channel, "guild_id", None)
        text = message.content
        if guild_id is None:
            if isinstance(message.channel, discord.GroupChannel):
                return None
        else:
            if not self.server_mentions:
                return None
            mentioned = me.id in message.raw_mentions or any(u.id == me.id for u in message.mentions)
            # "@" + the bot's name often picks the bot's managed role (same name) from Discord's
            # suggestions, sending `<@&role>`. Only that role counts: not other roles, @everyone, @here.
            role = self._own_role(message)
            role_mentioned = role is not None and (
                role.id in message.raw_role_mentions or any(r.id == role.id for r in message.role_mentions)
            )
            if not (mentioned or role_mentioned):
                return None
            text = re.sub(rf"[ \t]*<@!?{me.id}>[ \t]*", " ", text)
            if role is not None:
                text = re.sub(rf"[ \t]*<@&{role.id}>[ \t]*", " ", text)
        return Inbound(
            message_id=inbound_message_id(message.id),
            user_id=session_user_id(user_id=message.author.id, guild_id=guild_id, channel_id=message.channel.id),
            text=text.strip(),
            place=place_key(message.channel.id),
            reply_to={
                "channel_id": str(message.channel.id),
                "guild_id": str(guild_id) if guild_id is not None else None,
                "message_id": str(message.id),
            },
        )

    @staticmethod
    def _own_role(message: discord.Message) -> discord.Role | None:
        """The bot's managed role in the message's server (`tags.bot_id` is the bot), if the server is
        in the cache: discord.py fills it from GUILD_CREATE (the GUILDS intent), no members intent needed."""
        guild = message.guild
        if guild is None:
            return None
        role = guild.self_role
        return role if role is not None and role.is_bot_managed() else None

    async def on_message(self, message: discord.Message) -> None:
        self.inflight.track_current()
        try:
            try:
                inbound = self.inbound_of(message)
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                # A payload discord.py parsed but left incomplete (see `gateway_guard`): dropped.
                log.warning("Dropped a malformed Discord message (%s)", type(err).__name__)
                return
            if inbound is not None:
                # After a reconnect, the messages missed meanwhile are stored first, so this one
                # cannot be answered (and recorded) ahead of the same person's older ones.
                await self.catch_up.stored_missed()
                await self._answer(inbound)
        finally:
            self.handled["message"] += 1

    async def _answer(self, inbound: Inbound) -> None:
        try:
            await self.runner.handle(inbound, self.channel)
        except Exception:
            # Storage is down (the core turns model failures into an apology itself). Discord does
            # not redeliver, so say so rather than stay silent.
            log.exception("Could not answer Discord message %s", inbound.message_id)
            await self.channel.note(inbound, replies.APOLOGY)

    # -- reactions ------------------------------------------------------------------------------

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Raw, so reactions on answers sent before a restart (not in the cache) still count."""
        self.inflight.track_current()
        try:
            await self._handle_reaction(payload)
        finally:
            self.handled["reaction"] += 1

    async def _handle_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.user
        if me is None or payload.user_id == me.id:
            return
        if payload.guild_id is not None and not self.server_mentions:
            return
        if payload.member is not None and payload.member.bot:
            return
        await self.feedback(
            user_id=payload.user_id, channel_id=payload.channel_id, guild_id=payload.guild_id,
            message_id=payload.message_id, emoji=str(payload.emoji),
        )

    async def feedback(
        self, *, user_id: int, channel_id: int, guild_id: int | None, message_id: int, emoji: str, button: bool = False
    ) -> ReactionOutcome:
        """A reaction or a feedback button (`button=True`) on answer `message_id`, through the core; confirmed beside it."""
        session = session_user_id(user_id=user_id, guild_id=guild_id, channel_id=channel_id)
        reaction = Reaction(user_id=session, message_ref=answer_ref(channel_id, message_id), emoji=emoji)
        outcome = await self.runner.react(reaction, button=button)
        if outcome not in ("satisfied", "unsatisfied"):
            return outcome
        text = replies.SATISFIED if outcome == "satisfied" else replies.UNSATISFIED
        channel = self.get_partial_messageable(channel_id, guild_id=guild_id)  # type: ignore[attr-defined]
        try:
            if guild_id is not None:
                await channel.get_partial_message(message_id).reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)
            else:
                await channel.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.error("Could not confirm the reaction (%s %s)", err.status, err.text)
        return outcome


class PlannerClient(_PlannerMixin, discord.Client):
    """One gateway connection: right for bots in fewer than ~2,500 servers."""


class ShardedPlannerClient(_PlannerMixin, discord.AutoShardedClient):
    """Several shards in one process (`shard_ids` picks which, for spreading over processes)."""

    async def on_shard_ready(self, shard_id: int) -> None:
        """A shard's READY. on_ready fires once for all shards at start, not when one shard alone
        has to IDENTIFY again, so the catch-up is asked for here."""
        log.info("Discord shard %s ready", shard_id)
        self.request_catch_up()


AnyPlannerClient = PlannerClient | ShardedPlannerClient

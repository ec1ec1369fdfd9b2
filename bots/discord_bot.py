"""The planner in Discord: direct messages, mentions in server channels, 👍 to finish.

A thin adapter on discord.py 2.7: it turns gateway events into `TripPlannerRunner.ask` / `react`
calls and posts what comes back. Everything that decides (dedupe, persistence, locking, which
reaction counts) lives in the core; this module only translates ids and text.

Named `discord_bot` rather than `discord` so that it never shadows the discord.py package.

Settings read here (the core's `Settings` knows nothing about Discord):
- DISCORD_TOKEN (required): the bot token from the Developer Portal.
- DISCORD_API_URL (default https://discord.com/api/v10) and DISCORD_GATEWAY_URL (default
  wss://gateway.discord.gg/): REST proxies and tests point these elsewhere.
- DISCORD_SHARD_COUNT: unset for one connection; a number, or `auto` to ask Discord, for large
  installs. DISCORD_SHARD_IDS (e.g. `0,1`) picks the shards this process runs.
- DISCORD_SERVER_MENTIONS (default true): answer @mentions in server channels, not only DMs.
- DISCORD_SYNC_COMMANDS (default true): register /newtrip and /endtrip at start-up.
- DISCORD_SHUTDOWN_TIMEOUT (default 25 s): how long SIGTERM waits for answers in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from trip_planner.config import ConfigError, Settings
from trip_planner.core.messages import APOLOGY, Reaction, Reply
from trip_planner.core.runner import (
    SATISFIED_REPLY,
    UNSATISFIED_REPLY,
    TripPlannerRunner,
    Undeliverable,
)
from trip_planner.core.store import InboundRecord

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
MESSAGE_LIMIT = 2000  # Discord rejects longer content with a 400 (code 50035); discord.py does not check.
NO_MENTIONS = discord.AllowedMentions.none()
RESEND_AFTER_S = 90.0  # see `resend_after_s`; well past discord.py's own retries of a send (~25 s)
TYPING_EVERY_S = 8.0
# Discord JSON error codes after which an answer can never be sent where it belongs: Unknown Channel,
# and "Cannot send messages to this user" (DMs closed, or the bot blocked). Missing access or
# permissions (50001, 50013) are not here: a server admin may still fix those.
GONE_CODES = frozenset({10003, 50007})  # Discord shows "typing…" for about 10 s per request

# Catch-up after a (re)connect (see `_PlannerMixin.catch_up`): which places are checked, and how much
# work one pass may do. Messages past the per-channel cap wait for the next reconnect.
CATCH_UP_WINDOW_S = 24 * 3600.0  # places with a stored message this recent
CATCH_UP_MAX_CHANNELS = 200  # places per pass, the most recently active first
# Messages read per channel and pass (discord.py pages 100 per request). In a server channel the
# starting point is the last *stored* message, a mention: chatter after it is read again on every
# pass, so the cap must leave room for a busy channel's chatter between two mentions.
CATCH_UP_MAX_MESSAGES = 300
CATCH_UP_CONCURRENCY = 4  # channels caught up at once

NEW_TRIP_REPLY = "Started a new trip. Where would you like to go?"
END_TRIP_REPLY = "Glad I could help! I've closed this trip. Send a new message any time to plan another."
NO_TRIP_REPLY = "There is no open trip to end. Send me a message to start one."

# Three dot-separated base64url segments: user id, timestamp, HMAC. Checked only for shape, so a
# pasted "Bot …" prefix, a quoted value or a client secret is caught before any network call.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# -- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscordSettings:
    """What the adapter needs beyond the core's Settings. `token` never appears in repr or logs."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    sharded: bool = False
    shard_count: int | None = None  # None with sharded=True: ask GET /gateway/bot ("auto")
    shard_ids: tuple[int, ...] | None = None
    server_mentions: bool = True
    sync_commands: bool = True
    shutdown_timeout_s: float = 25.0


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value; use true or false.")


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = (env.get(name) or "").strip() or default
    try:
        url = yarl.URL(raw)
        valid = url.scheme in schemes and bool(url.host)
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"{name}={raw!r} is not a {' or '.join(schemes)} URL; the default is {default}.")
    return raw


def check_token(raw: str | None) -> str:
    """Refuse a missing or obviously malformed token with one line that never echoes the token."""
    token = (raw or "").strip()
    if not token:
        raise ConfigError(
            "DISCORD_TOKEN is not set; copy the bot token from the Discord Developer Portal "
            "(your application > Bot > Reset Token) into DISCORD_TOKEN."
        )
    if token.lower().startswith("bot "):
        raise ConfigError("DISCORD_TOKEN starts with 'Bot '; set the token alone, without the prefix.")
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError(
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts); copy it again from "
            "the Developer Portal (Bot > Reset Token), not the client secret or the public key."
        )
    return token


def _shards(env: Mapping[str, str]) -> tuple[bool, int | None, tuple[int, ...] | None]:
    raw_count = (env.get("DISCORD_SHARD_COUNT") or "").strip().lower()
    raw_ids = (env.get("DISCORD_SHARD_IDS") or "").strip()
    if not raw_count:
        if raw_ids:
            raise ConfigError("DISCORD_SHARD_IDS is set without DISCORD_SHARD_COUNT; set the total shard count too.")
        return False, None, None
    if raw_count == "auto":
        if raw_ids:
            raise ConfigError("DISCORD_SHARD_IDS needs a fixed DISCORD_SHARD_COUNT, not 'auto'.")
        return True, None, None
    try:
        count = int(raw_count)
    except ValueError:
        raise ConfigError(
            f"DISCORD_SHARD_COUNT={raw_count!r} is not a whole number; use e.g. 2, or 'auto'."
        ) from None
    if count < 1:
        raise ConfigError(f"DISCORD_SHARD_COUNT={raw_count!r} is too small; use at least 1.")
    if not raw_ids:
        return True, count, None
    try:
        ids = tuple(int(part) for part in raw_ids.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"DISCORD_SHARD_IDS={raw_ids!r} is not a comma-separated list of shard numbers.") from None
    if not ids or any(not 0 <= i < count for i in ids) or len(set(ids)) != len(ids):
        raise ConfigError(
            f"DISCORD_SHARD_IDS={raw_ids!r} must list distinct shard numbers from 0 to {count - 1}."
        )
    return True, count, ids


def load_discord_settings(env: Mapping[str, str] | None = None) -> DiscordSettings:
    """Read the adapter's settings (from the process environment by default, after `.env`)."""
    env = os.environ if env is None else env
    token = check_token(env.get("DISCORD_TOKEN"))
    sharded, count, ids = _shards(env)
    timeout_raw = (env.get("DISCORD_SHUTDOWN_TIMEOUT") or "").strip()
    try:
        timeout = float(timeout_raw) if timeout_raw else 25.0
    except ValueError:
        raise ConfigError(f"DISCORD_SHUTDOWN_TIMEOUT={timeout_raw!r} is not a number of seconds.") from None
    if timeout < 0:
        raise ConfigError(f"DISCORD_SHUTDOWN_TIMEOUT={timeout_raw!r} is negative; use e.g. 25.")
    return DiscordSettings(
        token=token,
        api_url=_url(env, "DISCORD_API_URL", DEFAULT_API_URL, ("http", "https")).rstrip("/"),
        gateway_url=_url(env, "DISCORD_GATEWAY_URL", DEFAULT_GATEWAY_URL, ("ws", "wss")),
        sharded=sharded,
        shard_count=count,
        shard_ids=ids,
        server_mentions=_bool(env, "DISCORD_SERVER_MENTIONS", True),
        sync_commands=_bool(env, "DISCORD_SYNC_COMMANDS", True),
        shutdown_timeout_s=timeout,
    )


def configure_endpoints(api_url: str, gateway_url: str) -> None:
    """Point discord.py at the REST base and the gateway.

    discord.py keeps both as class attributes, so this is process-wide: one bot per process, which is
    how it is deployed (a `discord:` process). A plain Client connects to DEFAULT_GATEWAY directly; an
    AutoShardedClient with a fixed shard count does too (with `auto` it uses the URL /gateway/bot gives).
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


# -- ids: the one place that maps Discord identities to the core's keys ----------------------------


def session_user_id(*, user_id: int, guild_id: int | None = None, channel_id: int | None = None) -> str:
    """The core's user id for a Discord person in a place.

    A DM is `discord:{user}`; in a server each channel is its own conversation per person,
    `discord:{guild}:{channel}:{user}`, so two people in one channel never share a trip. Ids only:
    names change, snowflakes do not.
    """
    if guild_id is None:
        return f"discord:{user_id}"
    if channel_id is None:
        raise ValueError("a server conversation needs the channel id")
    return f"discord:{guild_id}:{channel_id}:{user_id}"


def inbound_message_id(message_id: int) -> str:
    """The dedupe key for an inbound message: snowflakes are unique across all of Discord."""
    return f"discord:{message_id}"


def answer_nonce(inbound_key: str, index: int) -> str:
    """The Create Message nonce for piece `index` of the answer to inbound message `inbound_key`.

    Sent with `enforce_nonce`, it makes Discord hand back the message it already created instead of
    posting a second one when the same piece is sent again within a few minutes: after a response
    lost to a 5xx or a dropped connection, by discord.py's retry or by the recovery sweep. So it must
    depend only on the inbound message and the piece, never on which path sends it. Discord caps a
    nonce at 25 characters and `discord:` plus a snowflake and an index does not fit, hence a hash
    (96 bits as 24 hex digits).
    """
    return hashlib.blake2b(f"{inbound_key}#{index}".encode(), digest_size=12).hexdigest()


def answer_ref(channel_id: int, message_id: int) -> str:
    """How the core remembers one of our answer messages, so a reaction on it can be matched."""
    return f"discord:{channel_id}:{message_id}"


# -- splitting long answers ---------------------------------------------------------------------------


def _fence_toggles(line: str) -> bool:
    return line.count("```") % 2 == 1


def _hard_split(line: str, width: int) -> list[str]:
    """Split one over-long line at spaces when possible, else at `width` characters."""
    pieces: list[str] = []
    while len(line) > width:
        cut = line.rfind(" ", width // 2, width)
        if cut <= 0:
            cut = width
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split an answer into Discord-sized messages.

    Prefers paragraph breaks, then line breaks, then spaces. A code block cut in two is closed at the
    end of one message and reopened (with its language) at the start of the next, so every message
    renders on its own. Every piece is at most `limit` characters.
    """
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []
    reserve = 32  # room for a reopened fence at the top and a closing one at the bottom
    lines: list[str] = []
    opener_after: list[str | None] = []  # the fence open after each line, if any
    opener: str | None = None
    for raw in text.split("\n"):
        for line in _hard_split(raw, limit - reserve):
            if _fence_toggles(line):
                opener = None if opener else ("```" + line.strip().removeprefix("```").split("```")[0])[:20]
            lines.append(line)
            opener_after.append(opener)

    def render(start: int, end: int) -> str:
        carried = opener_after[start - 1] if start > 0 else None
        body = ([carried] if carried else []) + lines[start:end]
        if opener_after[end - 1]:
            body.append("```")
        return "\n".join(body).strip("\n")

    chunks: list[str] = []
    start = 0
    end = start + 1
    while start < len(lines):
        if end <= len(lines) and (end == start + 1 or len(render(start, end)) <= limit):
            end += 1
            continue
        stop = end - 1  # lines[start:stop] fits (or is the last piece)
        if end <= len(lines):
            # Over the limit: break at the last blank line outside code if it keeps the chunk useful.
            for b in range(stop - 1, start, -1):
                if lines[b].strip() == "" and opener_after[b] is None and len(render(start, b)) >= limit // 2:
                    stop = b
                    break
        piece = render(start, stop)
        if piece.strip():
            chunks.append(piece)
        start = stop
        while start < len(lines) and lines[start].strip() == "" and opener_after[start] is None:
            start += 1
        end = start + 1
    return chunks


# -- the client ---------------------------------------------------------------------------------------


def build_intents(*, server_mentions: bool) -> discord.Intents:
    """Only what the planner reads: DMs and DM reactions; server messages and reactions for mentions.

    No privileged intent: Discord delivers the text of DMs and of messages that mention the bot
    without the message-content intent.
    """
    intents = discord.Intents.none()
    intents.guilds = True  # slash commands in servers and the channel cache
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
        self._setup_planner(
            runner,
            server_mentions=server_mentions,
            sync_commands=sync_commands,
            answer_within_s=answer_within_s,
            identify_interval_s=identify_interval_s,
        )

    def _setup_planner(
        self,
        runner: TripPlannerRunner,
        *,
        server_mentions: bool,
        sync_commands: bool,
        answer_within_s: float,
        identify_interval_s: float,
    ) -> None:
        self.runner = runner
        self.server_mentions = server_mentions
        self.sync_commands_on_setup = sync_commands
        self.answer_within_s = answer_within_s
        self.identify_interval_s = identify_interval_s
        self._inflight: set[asyncio.Task[Any]] = set()
        # Answers not sent within `recovery_after_s` (a crash, Discord down) are sent by a sweep.
        self.recovery_every_s = 60.0
        self.recovery_after_s = 300.0
        # An answer that failed to go out is resent sooner, while Discord still knows its nonces
        # ("the past few minutes"), so a piece that did get through is returned, not posted again.
        self.resend_after_s = RESEND_AFTER_S
        self._recovery: asyncio.Task[None] | None = None
        self.typing_every_s = TYPING_EVERY_S
        # Discord does not redeliver: after a READY, history is read for what no session received.
        self.catch_up_window_s = CATCH_UP_WINDOW_S
        self.catch_up_channels = CATCH_UP_MAX_CHANNELS
        self.catch_up_messages = CATCH_UP_MAX_MESSAGES
        self._catch_up: asyncio.Task[None] | None = None
        self._catch_up_again = False  # a READY arrived during a pass: run one more after it
        self._catch_up_asked_at = 0.0
        self._draining = False
        # Events fully handled (answered or skipped), by kind, and finished catch-up passes ("catch_up"):
        # for health checks, logs and tests.
        self.handled: Counter[str] = Counter()
        self.tree = app_commands.CommandTree(self)  # type: ignore[arg-type]
        self._add_commands()

    # -- lifecycle ------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Runs at the end of login: start the recovery sweep, sync the slash commands."""
        self._recovery = asyncio.create_task(
            self.runner.run_recovery(
                self.redeliver,
                platform="discord",
                every_s=self.recovery_every_s,
                older_than_s=self.recovery_after_s,
                answered_after_s=self.resend_after_s,
            ),
            name="discord-recovery",
        )
        if not self.sync_commands_on_setup:
            return
        try:
            synced = await self.tree.sync()
            log.info("Synced %d slash commands: %s", len(synced), ", ".join(f"/{c.name}" for c in synced))
        except discord.HTTPException as err:
            # Not fatal: the commands registered last time still work.
            log.warning("Could not sync slash commands (%s %s); continuing", err.status, err.text)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord allows one IDENTIFY per 5 s per bucket; the interval is a parameter for tests."""
        if not initial and self.identify_interval_s > 0:
            await asyncio.sleep(self.identify_interval_s)

    async def close(self) -> None:
        for task in (self._recovery, self._catch_up):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await super().close()  # type: ignore[misc]

    async def on_ready(self) -> None:
        """Fires at start and again after every reconnect that could not resume: exactly when
        messages may have been sent that no gateway session received."""
        user = self.user
        log.info("Discord bot ready as %s (id %s)", user, user.id if user else "?")
        if not isinstance(self, discord.AutoShardedClient):  # shards catch up in on_shard_ready
            self.request_catch_up()

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def drain(self, timeout_s: float, *, force: asyncio.Event | None = None) -> bool:
        """Wait for the answers in flight, at most `timeout_s` or until `force` is set.

        True when none is left. Messages arriving meanwhile are answered too: the gateway is still
        open, and an unanswered message would otherwise be lost (Discord does not redeliver).
        """
        self._draining = True  # a catch-up stops taking new messages; the next start finds them
        await asyncio.sleep(0)  # let handlers already scheduled by the gateway start and register
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        forced = asyncio.ensure_future((force or asyncio.Event()).wait())
        try:
            while self._inflight:
                remaining = deadline - loop.time()
                if remaining <= 0 or forced.done():
                    log.warning("Closing with %d answers still in flight", len(self._inflight))
                    return False
                log.info("Waiting for %d answers in flight before closing", len(self._inflight))
                await asyncio.wait({*self._inflight, forced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            return True
        finally:
            forced.cancel()

    # -- messages -------------------------------------------------------------------------------

    def _place(self, message: discord.Message) -> tuple[int | None, str] | None:
        """(guild id, text for the planner), or None when the message is not for us."""
        me = self.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id is not None:
            return None  # our own echo, other bots, webhooks
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None  # joins, pins, thread notices…
        guild_id = message.guild.id if message.guild is not None else getattr(message.channel, "guild_id", None)
        if guild_id is None:
            if isinstance(message.channel, discord.GroupChannel):
                return None
            return None, message.content
        if not self.server_mentions:
            return None
        mentioned = me.id in message.raw_mentions or any(u.id == me.id for u in message.mentions)
        # "@" + the bot's name often picks the bot's managed role (same name) from Discord's suggestions,
        # sending `<@&role>`. Only that role counts: not other roles (even ones the bot has), @everyone, @here.
        role = self._own_role(message)
        role_mentioned = role is not None and (
            role.id in message.raw_role_mentions or any(r.id == role.id for r in message.role_mentions)
        )
        if not (mentioned or role_mentioned):
            return None
        text = re.sub(rf"[ \t]*<@!?{me.id}>[ \t]*", " ", message.content)
        if role is not None:
            text = re.sub(rf"[ \t]*<@&{role.id}>[ \t]*", " ", text)
        return guild_id, text.strip()

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
        self._track()
        try:
            await self._handle_message(message)
        finally:
            self.handled["message"] += 1

    async def _handle_message(self, message: discord.Message) -> bool:
        """Answer one message; True when it was new to the core (answered now, not a duplicate)."""
        place = self._place(message)
        if place is None:
            return False
        guild_id, text = place
        user_id = session_user_id(user_id=message.author.id, guild_id=guild_id, channel_id=message.channel.id)
        reply_to = {
            "platform": "discord",
            "channel_id": str(message.channel.id),
            "guild_id": str(guild_id) if guild_id is not None else None,
            "message_id": str(message.id),
        }
        typing: asyncio.Task[None] | None = None

        async def show_working() -> None:
            # Only once the core has stored the message and found it new: a replayed message shows nothing.
            nonlocal typing
            typing = asyncio.create_task(self._keep_typing(message.channel))

        try:
            reply = await self.runner.ask(
                user_id, text, message_id=inbound_message_id(message.id), reply_to=reply_to, on_accepted=show_working
            )
        except Exception:
            # The core turns model failures into an apology itself; this is storage being down.
            log.exception("Could not answer Discord message %s", message.id)
            try:
                await message.channel.send(APOLOGY, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as err:
                log.error("Could not send the apology either (%s)", err.status)
            return False
        finally:
            if typing is not None:
                typing.cancel()
        if reply.duplicate:
            log.info("Message %s was already answered; sending nothing", message.id)
            return False
        await self._send_answer(message, user_id, reply, in_server=guild_id is not None)
        return True

    # -- catch-up: messages no gateway session received ------------------------------------------

    def request_catch_up(self) -> None:
        """Start a catch-up pass in the background, or, when one is running, one more after it (the
        READY that asked may follow messages that pass has already looked past)."""
        self._catch_up_asked_at = time.time()
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up_again = True
            return
        self._catch_up = asyncio.create_task(self._run_catch_up(), name="discord-catch-up")

    async def _run_catch_up(self) -> None:
        self._track()  # in flight like an answer: drain waits for it, close cancels it
        again = True
        while again and not self._draining:
            self._catch_up_again = False
            try:
                await self.catch_up(received_before=self._catch_up_asked_at)
            except Exception:
                log.exception("Catching up on missed Discord messages failed; live messages are unaffected")
            self.handled["catch_up"] += 1
            again = self._catch_up_again

    async def catch_up(self, *, received_before: float | None = None) -> int:
        """Answer messages sent while no gateway session was there to receive them (the bot was down
        or reconnecting, or a process died before storing one); returns how many were answered.

        Discord does not redeliver, and a fresh IDENTIFY replays nothing. So for each place the bot
        talked in within `catch_up_window_s`, the channel's history after the last message stored
        for it is read, and each message goes through `_handle_message` exactly like a gateway
        event: the same filters (bots, our own answers, mentions only in servers), and the core's
        dedupe makes a message that is already stored a no-op. `received_before` (when the READY
        came) leaves out messages received live since then, so that a new message cannot become a
        channel's starting point and hide older missed ones.

        Limitation: only places with a stored message in the window are checked. A brand-new
        user's first DM sent during downtime cannot be found: Discord offers no list of DM channels
        with unread messages.
        """
        places = await self.runner.recent_places(
            platform="discord", since_s=self.catch_up_window_s, limit=self.catch_up_channels,
            received_before=received_before,
        )
        places = [p for p in places if self._runs_place((p.reply_to or {}).get("guild_id"))]
        if not places:
            return 0
        slots = asyncio.Semaphore(CATCH_UP_CONCURRENCY)

        async def one(record: InboundRecord) -> int:
            async with slots:
                return await self._catch_up_place(record)

        answered = sum(await asyncio.gather(*(one(p) for p in places)))
        if answered:
            log.info("Caught up on %d missed Discord message(s) in %d channel(s) checked", answered, len(places))
        return answered

    def _runs_place(self, guild_id: Any) -> bool:
        """Whether this process runs the shard that receives the place's events (DMs: shard 0), so
        processes running other shards do not read (and race for) the same history."""
        shard_ids = getattr(self, "shard_ids", None)  # AutoShardedClient only
        count = getattr(self, "shard_count", None)
        if not shard_ids or not count:
            return True
        shard = 0 if not guild_id else (int(guild_id) >> 22) % count
        return shard in shard_ids

    async def _catch_up_place(self, record: InboundRecord) -> int:
        """Pass one channel's messages after `record` (its last stored one) to `_handle_message`,
        oldest first; a channel that cannot be read is logged and skipped."""
        where = record.reply_to or {}
        try:
            channel_id = int(where["channel_id"])
            after = int(where.get("message_id") or record.message_id.removeprefix("discord:"))
            guild_id = int(where["guild_id"]) if where.get("guild_id") else None
        except (KeyError, TypeError, ValueError):
            log.debug("Message %s has no usable Discord place; not caught up", record.message_id)
            return 0
        channel = self.get_partial_messageable(channel_id, guild_id=guild_id)  # type: ignore[attr-defined]
        answered = read = 0
        try:
            async for message in channel.history(
                after=discord.Object(id=after), oldest_first=True, limit=self.catch_up_messages
            ):
                if self._draining:
                    break
                read += 1
                answered += await self._handle_message(message)
        except discord.HTTPException as err:  # e.g. 403/404: removed from the server, channel gone
            log.warning("Could not read channel %s to catch up (%s %s); skipping it", channel_id, err.status, err.text)
        except Exception:
            log.exception("Catching up channel %s failed; skipping it", channel_id)
        if read >= self.catch_up_messages:
            log.warning(
                "Channel %s has more than %d messages after the last one stored; later ones are not caught up",
                channel_id, self.catch_up_messages,
            )
        return answered

    async def _keep_typing(self, channel: discord.abc.Messageable) -> None:
        """Show 'typing…' until cancelled; Discord clears it after ~10 s, so renew every 8 s.

        A failure here (no permission, a hiccup) must never cost the answer, so it is only logged.
        """
        while True:
            try:
                await channel.typing()
            except discord.HTTPException as err:
                log.debug("Typing indicator failed (%s); carrying on", err.status)
            await asyncio.sleep(self.typing_every_s)

    async def _send_answer(self, message: discord.Message, user_id: str, reply: Reply, *, in_server: bool) -> None:
        async with self.runner.delivering(user_id):
            failed = await self._send_chunks(
                message.channel, message if in_server else None, user_id, reply, inbound_message_id(message.id)
            )
        if failed is None:
            # Unmarked, the core's recovery sweep sends the answer later (e.g. Discord was down); the
            # nonces keep it from repeating the pieces that did go out.
            await self.runner.mark_delivered(inbound_message_id(message.id))

    async def _send_chunks(
        self,
        channel: discord.abc.Messageable,
        reply_to: discord.Message | discord.PartialMessage | None,
        user_id: str,
        reply: Reply,
        inbound_key: str,
    ) -> discord.HTTPException | None:
        """Send the answer in pieces Discord accepts (the first as a reply in servers) and remember
        each piece for reactions; None when every piece went out, else the error that stopped it.

        Each piece carries `answer_nonce(inbound_key, index)`, so sending the same answer again (the
        recovery sweep after a failure or a lost response) returns the pieces Discord already has
        instead of posting them twice; a piece returned that way is remembered like a new one. That is
        what makes it safe to leave a partly sent answer to the sweep rather than lose its rest.
        """
        for index, chunk in enumerate(split_message(reply.text)):
            nonce = answer_nonce(inbound_key, index)
            try:
                if reply_to is not None and index == 0:
                    # A reply to a message deleted meanwhile is sent as a plain message: without this,
                    # Discord refuses it (400) and the answer would be retried for days.
                    sent = await channel.send(
                        chunk,
                        reference=reply_to.to_reference(fail_if_not_exists=False),
                        mention_author=False,
                        allowed_mentions=NO_MENTIONS,
                        nonce=nonce,
                    )
                else:
                    sent = await channel.send(chunk, allowed_mentions=NO_MENTIONS, nonce=nonce)
            except discord.HTTPException as err:
                log.error(
                    "Could not send piece %d of an answer in channel %s (%s %s)",
                    index + 1, getattr(channel, "id", "?"), err.status, err.text,
                )
                return err
            if reply.conversation_id is not None:
                await self.runner.remember_answer(
                    user_id=user_id,
                    conversation_id=reply.conversation_id,
                    message_ref=answer_ref(sent.channel.id, sent.id),
                )
        return None

    async def redeliver(self, record: InboundRecord, reply: Reply) -> None:
        """Send an answer the core recovered (the process died, or Discord failed, before it was sent)."""
        where = record.reply_to or {}
        if not where.get("channel_id"):
            log.warning("Message %s has no stored Discord destination; its answer cannot be sent", record.message_id)
            return
        channel = self.get_partial_messageable(int(where["channel_id"]))  # type: ignore[attr-defined]
        reference = channel.get_partial_message(int(where["message_id"])) if where.get("guild_id") else None
        # record.message_id is the same `inbound_message_id` key the live path used: the same nonces.
        error = await self._send_chunks(channel, reference, record.user_id, reply, record.message_id)
        if error is not None:
            if error.code in GONE_CODES:
                # The channel is gone or the person no longer takes DMs from the bot: retrying cannot help.
                raise Undeliverable(f"Discord error {error.code}: {error.text}")
            raise RuntimeError(f"Discord did not take the answer to {record.message_id}")

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Raw, so reactions on answers sent before a restart (not in the cache) still count."""
        self._track()
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
        user_id = session_user_id(user_id=payload.user_id, guild_id=payload.guild_id, channel_id=payload.channel_id)
        outcome = await self.runner.react(
            Reaction(
                user_id=user_id,
                message_ref=answer_ref(payload.channel_id, payload.message_id),
                emoji=str(payload.emoji),
            )
        )
        if outcome == "ignored":
            return
        text = SATISFIED_REPLY if outcome == "satisfied" else UNSATISFIED_REPLY
        channel = self.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)  # type: ignore[attr-defined]
        try:
            if payload.guild_id is not None:
                await channel.get_partial_message(payload.message_id).reply(
                    text, mention_author=False, allowed_mentions=NO_MENTIONS
                )
            else:
                await channel.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.error("Could not confirm the reaction (%s %s)", err.status, err.text)

    # -- slash commands -------------------------------------------------------------------------

    def _add_commands(self) -> None:
        @app_commands.command(name="newtrip", description="Start planning a new trip (the current one is closed).")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
        @app_commands.allowed_installs(guilds=True, users=False)
        async def newtrip(interaction: discord.Interaction) -> None:
            await self._respond(interaction, self._new_trip)

        @app_commands.command(name="endtrip", description="Finish the current trip.")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
        @app_commands.allowed_installs(guilds=True, users=False)
        async def endtrip(interaction: discord.Interaction) -> None:
            await self._respond(interaction, self._end_trip)

        self.tree.add_command(newtrip)
        self.tree.add_command(endtrip)

    @staticmethod
    def _interaction_user_id(interaction: discord.Interaction) -> str:
        return session_user_id(
            user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id
        )

    async def _new_trip(self, interaction: discord.Interaction) -> str:
        await self.runner.new_conversation(self._interaction_user_id(interaction))
        return NEW_TRIP_REPLY

    async def _end_trip(self, interaction: discord.Interaction) -> str:
        ended = await self.runner.end_conversation(self._interaction_user_id(interaction), "satisfied")
        return END_TRIP_REPLY if ended else NO_TRIP_REPLY

    async def _respond(
        self, interaction: discord.Interaction, work: Callable[[discord.Interaction], Coroutine[Any, Any, str]]
    ) -> None:
        """Answer within Discord's 3-second window: directly when the work is quick, else defer first.

        Deferring shows "thinking…" and gives 15 minutes for the follow-up.
        """
        self._track()
        try:
            await self._respond_in_time(interaction, work)
        finally:
            self.handled["command"] += 1

    async def _respond_in_time(
        self, interaction: discord.Interaction, work: Callable[[discord.Interaction], Coroutine[Any, Any, str]]
    ) -> None:
        ephemeral = interaction.guild_id is not None  # in a server, only the person sees the confirmation
        job: asyncio.Task[str] = asyncio.create_task(work(interaction))
        done, _ = await asyncio.wait({job}, timeout=self.answer_within_s)
        if job in done:
            await interaction.response.send_message(_result(job), ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
            return
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        await asyncio.wait({job})
        await interaction.followup.send(_result(job), ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)


def _result(job: asyncio.Task[str]) -> str:
    error = job.exception()
    if error is not None:
        log.error("Slash command failed", exc_info=error)
        return APOLOGY
    return job.result()


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


def create_client(
    runner: TripPlannerRunner, config: DiscordSettings, **options: Any
) -> AnyPlannerClient:
    """The right client for the settings; `options` go to discord.py (tests pass guild_ready_timeout)."""
    common: dict[str, Any] = {
        "server_mentions": config.server_mentions,
        "sync_commands": config.sync_commands,
        **options,
    }
    if config.sharded:
        return ShardedPlannerClient(
            runner, shard_count=config.shard_count, shard_ids=list(config.shard_ids) if config.shard_ids else None, **common
        )
    return PlannerClient(runner, **common)


async def _login(client: AnyPlannerClient, config: DiscordSettings) -> bool:
    """Log in; a rejected token is a configuration error, an unreachable API a failed start."""
    try:
        await client.login(config.token)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was rejected by Discord (401 Unauthorized); reset the token in the Developer Portal."
        ) from None
    except (aiohttp.ClientError, OSError, discord.HTTPException) as err:
        log.error("Could not log in to Discord at %s: %s", config.api_url, err)
        return False
    return True


async def serve(
    client: AnyPlannerClient, config: DiscordSettings, *, stop: asyncio.Event, force: asyncio.Event | None = None
) -> int:
    """Log in, stay connected until `stop` is set, then finish the answers in flight and close.

    `force` (a second SIGTERM / Ctrl-C) cuts the wait short.

    Returns the exit code: 0 after a requested stop, 1 when the gateway connection failed.
    """
    async with client:
        if not await _login(client, config):
            return 1
        connection = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        stopping = asyncio.create_task(stop.wait(), name="discord-stop")
        await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connection.done():
            stopping.cancel()
            error = connection.exception()
            if error is not None:
                log.error("The Discord gateway connection failed: %s", error)
                return 1
            return 0
        log.info("Stopping: finishing answers in flight (up to %.0fs), then closing the gateway", config.shutdown_timeout_s)
        await client.drain(config.shutdown_timeout_s, force=force)
        await client.close()
        try:
            await connection
        except (discord.DiscordException, aiohttp.ClientError, OSError) as err:  # the socket closing under it
            log.debug("Gateway task ended with %r", err)
        log.info("Discord gateway closed")
    return 0


async def run_discord(
    settings: Settings,
    *,
    sync_commands: bool = False,
    env: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """`trip-planner discord`: run the bot until SIGTERM / SIGINT.

    With `sync_commands=True` it only registers the slash commands and exits (deploy step).
    """
    config = load_discord_settings(env)
    configure_endpoints(config.api_url, config.gateway_url)
    runner = TripPlannerRunner(settings)
    await runner.start()
    try:
        if sync_commands:
            return await _sync_only(runner, config)
        stop = stop or asyncio.Event()
        force = asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():
                log.warning("Second stop signal: closing without waiting for answers in flight")
                force.set()
            stop.set()

        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        try:
            client = create_client(runner, config)
            shards = "" if not config.sharded else f" with shards {config.shard_ids or 'all'} of {config.shard_count or 'auto'}"
            log.info("Starting the Discord bot (%s model)%s", settings.model, shards)
            return await serve(client, config, stop=stop, force=force)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
    finally:
        await runner.close()


async def _sync_only(runner: TripPlannerRunner, config: DiscordSettings) -> int:
    client = PlannerClient(runner, server_mentions=config.server_mentions, sync_commands=False)
    async with client:
        if not await _login(client, config):
            return 1
        try:
            synced = await client.tree.sync()
        except discord.HTTPException as err:
            log.error("Could not sync slash commands: %s %s", err.status, err.text)
            return 1
    log.info("Registered %d slash commands: %s", len(synced), ", ".join(f"/{c.name}" for c in synced))
    return 0


__all__ = [
    "DiscordSettings",
    "PlannerClient",
    "ShardedPlannerClient",
    "answer_nonce",
    "answer_ref",
    "build_intents",
    "check_token",
    "configure_endpoints",
    "create_client",
    "inbound_message_id",
    "load_discord_settings",
    "run_discord",
    "serve",
    "session_user_id",
    "split_message",
]


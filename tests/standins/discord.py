"""A Discord stand-in: REST API and gateway websocket on 127.0.0.1, for end-to-end tests.

It speaks the wire protocol the way Discord does, including the details that matter to discord.py:
REST bodies with `Content-Type: application/json` exactly (a charset suffix makes discord.py read them
as text), 429s with a `Via` header and a JSON `retry_after`, `"type": 0` on MESSAGE_REACTION_ADD, the
bot's own messages echoed back as MESSAGE_CREATE, `nonce` + `enforce_nonce` on Create Message returning
the message already created instead of a second one, events routed to shards by guild id and filtered by
the intents sent in IDENTIFY, and message content blanked for server messages that do not mention the
bot (or its managed role) when the message-content intent is absent. The servers the bot is in
(`add_guild`, `add_role`) are listed as unavailable in READY and then sent as one GUILD_CREATE each, with
their roles (among them the bot's managed role, `tags.bot_id`), channels and the bot's own member, to the
shard that guild belongs to, as Discord does with the GUILDS intent.

Tests drive it with `send_dm`, `send_server_message` (with `dispatch=False` the message is only stored in
its channel, as if no gateway session was there to receive it), `add_reaction`, `invoke_command`,
`invalidate_session` (a reconnect Discord does not let resume), `add_guild` / `add_role` (set up before
the bot connects: no GUILD_UPDATE or role events are sent), inject failures with `rate_limit`,
`refuse`, `hold` and `lose_response`, and read `calls` (every REST request), `sent_messages` (what the
bot posted) and `sessions` (every gateway connection). Channel history (GET /channels/{id}/messages)
returns the people's messages and the messages the bot created, as Discord does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

from aiohttp import WSMsgType, web

from tests.standins.serving import serve_locally
from tests.standins.discord_components import DiscordComponentsMixin
from tests.standins.discord_edits import DiscordEditsMixin
from tests.standins.discord_embeds import embeds_error

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1420070400000

# Gateway intents (bit positions from the Discord docs).
GUILDS = 1 << 0
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply with the content type discord.py insists on (no charset)."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class RestCall:
    """One REST request as received (recorded on arrival, `done` once answered)."""

    seq: int
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None
    status: int | None = None
    done_seq: int | None = None


@dataclass
class GatewaySession:
    """One gateway websocket connection."""

    ws: web.WebSocketResponse
    shard: tuple[int, int] = (0, 1)
    intents: int = 0
    identified: bool = False
    session_id: str = ""
    sequence: int = 0
    heartbeats: int = 0
    identify: dict[str, Any] | None = None
    closed_seq: int | None = None
    close_code: int | None = None
    member_requests: list[dict[str, Any]] = field(default_factory=list)  # op 8 REQUEST_GUILD_MEMBERS

    @property
    def open(self) -> bool:
        return self.closed_seq is None and not self.ws.closed


@dataclass
class _Rule:
    method: str
    pattern: re.Pattern[str]
    remaining: int
    retry_after: float = 0.0
    gate: asyncio.Event | None = None
    status: int = 429
    after: bool = False  # process the request, then answer with `status` (the response is lost)
    code: int = 50001  # the JSON error code of a refusal (50001 Missing Access, 50007 DMs closed…)
    skip: int = 0  # matching requests to let through before the rule applies
    matched: int = 0


@dataclass
class Interaction:
    id: str
    token: str
    payload: dict[str, Any]
    answered: bool = False  # its initial response (the callback) was given


@dataclass
class Guild:
    """A server the bot is in: what its GUILD_CREATE carries."""

    id: int
    name: str
    owner_id: int
    bot_role_id: int  # the role Discord creates for the bot when it joins (managed, tags.bot_id)
    roles: list[dict[str, Any]]  # role objects, @everyone (id == guild id) first
    channels: dict[int, str]  # text channel id -> name
    bot_roles: list[int]  # roles the bot's member has
    member_count: int
    joined_at: str


class DiscordStandIn(DiscordComponentsMixin, DiscordEditsMixin):
    """Start with `async with DiscordStandIn(token=...) as discord:`; point the bot at `api_url`/`gateway_url`."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int = 1100000000000000001,
        application_id: int | None = None,
        recommended_shards: int = 1,
        heartbeat_interval_ms: int = 1000,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.application_id = application_id or bot_id
        self.recommended_shards = recommended_shards
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.calls: list[RestCall] = []
        self.sessions: list[GatewaySession] = []
        self.commands: list[dict[str, Any]] = []
        self.interactions: dict[str, Interaction] = {}
        self.channel_guild: dict[int, int | None] = {}
        self.created_ids: dict[int, int] = {}  # REST call seq -> id of the message it created
        self.returned_ids: dict[int, int] = {}  # REST call seq -> id of the existing message a nonce matched
        self._nonces: dict[tuple[str, str], dict[str, Any]] = {}  # (author id, nonce) -> the message
        self.filtered: list[tuple[str, dict[str, Any]]] = []  # events not delivered for lack of intents
        self.channel_messages: dict[int, dict[int, dict[str, Any]]] = {}  # channel id -> message id -> message
        self.guilds: dict[int, Guild] = {}  # the servers the bot is in
        self.application_flags = 0  # GET /applications/@me `flags` (privileged intents, see the doctor)
        self._seq = itertools.count(1)
        self._ids = itertools.count()
        self._rules: list[_Rule] = []
        self._background: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._init_edits()

    # -- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/gateway", self._gateway)  # Discord hands out URLs without the slash
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner, self.port = await serve_locally(app, handle_signals=False)

    async def close(self) -> None:
        for session in self.sessions:
            if not session.ws.closed:
                await session.ws.close()
        for rule in self._rules:
            if rule.gate is not None:
                rule.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    # -- ids and shapes ---------------------------------------------------------------------------

    def snowflake(self) -> int:
        """A real-looking, strictly increasing snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._ids) % (1 << 22))

    def user(self, user_id: int, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": f"user{user_id % 100000}",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    @property
    def bot_user(self) -> dict[str, Any]:
        return {**self.user(self.bot_id, bot=True), "username": "Trip Planner", "verified": True, "flags": 0,
                "mfa_enabled": False}

    def _member(self, user_id: int, guild_id: int | None = None) -> dict[str, Any]:
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        roles = [str(r) for r in guild.bot_roles] if guild is not None and user_id == self.bot_id else []
        return {"roles": roles, "joined_at": guild.joined_at if guild and roles else _now_iso(), "deaf": False,
                "mute": False, "flags": 0, "nick": None, "avatar": None, "premium_since": None, "pending": False,
                "communication_disabled_until": None}

    # -- servers ----------------------------------------------------------------------------------

    def add_guild(self, guild_id: int, *, channels: Iterable[int] = (), name: str = "Trip Club",
                  member_count: int = 12) -> Guild:
        """The bot is in this server (set up before the bot connects): it gets the @everyone role
        (id == guild id), the bot's managed role and the given text channels."""
        bot_role_id = self.snowflake()
        everyone = self._role(guild_id, "@everyone", position=0, permissions="1071698660929")
        bot_role = self._role(bot_role_id, self.bot_user["username"], position=1, permissions="67648",
                              managed=True, tags={"bot_id": str(self.bot_id)})
        guild = Guild(
            id=guild_id, name=name, owner_id=1000000000000000001, bot_role_id=bot_role_id,
            roles=[everyone, bot_role], channels={}, bot_roles=[bot_role_id], member_count=member_count,
            joined_at=_now_iso(),
        )
        self.guilds[guild_id] = guild
        for index, channel_id in enumerate(channels):
            guild.channels[channel_id] = "general" if index == 0 else f"channel-{index}"
            self.channel_guild[channel_id] = guild_id
        return guild

    def add_role(self, guild_id: int, name: str, *, bot_id: int | None = None, bot_has: bool = False) -> int:
        """Another role in the server (before the bot connects); `bot_id` makes it that bot's managed
        role, `bot_has` gives it to our bot's member too. Returns its id."""
        guild = self._guild(guild_id)
        role_id = self.snowflake()
        tags = {"bot_id": str(bot_id)} if bot_id is not None else None
        guild.roles.append(self._role(role_id, name, position=len(guild.roles), managed=bot_id is not None,
                                      tags=tags, mentionable=bot_id is None))
        if bot_has:
            guild.bot_roles.append(role_id)
        return role_id

    def _guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise AssertionError(f"the bot is not in server {guild_id}; call add_guild({guild_id}, ...) first")
        return guild

    @staticmethod
    def _role(role_id: int, name: str, *, position: int, permissions: str = "0", managed: bool = False,
              tags: dict[str, Any] | None = None, mentionable: bool = False) -> dict[str, Any]:
        role: dict[str, Any] = {
            "id": str(role_id),
            "name": name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": permissions,
            "managed": managed,
            "mentionable": mentionable,
            "flags": 0,
        }
        if tags is not None:
            role["tags"] = tags
        return role

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """The GUILD_CREATE a bot receives for a server after READY: the guild object plus the
        gateway-only fields. Without the members and presences intents `members` holds only the bot."""
        guild = self._guild(guild_id)
        channels = [
            {"id": str(channel_id), "type": 0, "name": name, "position": position, "permission_overwrites": [],
             "nsfw": False, "parent_id": None, "topic": None, "last_message_id": None, "rate_limit_per_user": 0,
             "flags": 0}
            for position, (channel_id, name) in enumerate(guild.channels.items())
        ]
        first_channel = str(next(iter(guild.channels))) if guild.channels else None
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "application_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "nsfw": False,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": first_channel,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "incidents_data": None,
            "features": [],
            "roles": [dict(r) for r in guild.roles],
            "emojis": [],
            "stickers": [],
            # Only in GUILD_CREATE:
            "joined_at": guild.joined_at,
            "large": guild.member_count >= 250,
            "lazy": True,
            "unavailable": False,
            "member_count": guild.member_count,
            "members": [{**self._member(self.bot_id, guild.id), "user": self.bot_user}],
            "channels": channels,
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_payload(
        self,
        *,
        channel_id: int,
        author: dict[str, Any],
        content: str,
        guild_id: int | None = None,
        message_id: int | None = None,
        mentions: list[dict[str, Any]] | None = None,
        mention_roles: list[int] | None = None,
        mention_everyone: bool = False,
        reference: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(message_id or self.snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": mention_everyone,
            "mentions": mentions or [],
            "mention_roles": [str(r) for r in mention_roles or []],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 19 if reference else 0,
            "flags": 0,
        }
        if reference:
            data["message_reference"] = reference
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            data["member"] = self._member(int(author["id"]), guild_id)
        return data

    # -- test controls ----------------------------------------------------------------------------

    def rate_limit(self, method: str, path_regex: str, *, times: int = 1, retry_after: float = 0.2) -> None:
        """Answer the next `times` matching requests with a 429, as Discord does."""
        self._rules.append(_Rule(method, re.compile(path_regex), times, retry_after=retry_after))

    def refuse(self, method: str, path_regex: str, *, status: int = 403, times: int = 1, code: int = 50001) -> None:
        """Answer the next `times` matching requests with an error Discord does not ask to retry."""
        self._rules.append(_Rule(method, re.compile(path_regex), times, status=status, code=code))

    def lose_response(
        self, method: str, path_regex: str, *, status: int = 500, times: int = 1, skip: int = 0
    ) -> None:
        """Process the next `times` matching requests (after `skip` untouched ones) as usual, so a
        message is created, then answer with `status` instead: Discord did the work but the client
        never learns of it. 500/502/504/524 make discord.py retry the request; other 5xx do not."""
        self._rules.append(_Rule(method, re.compile(path_regex), times, status=status, after=True, skip=skip))

    def hold(self, method: str, path_regex: str, *, times: int = 1) -> asyncio.Event:
        """Keep the next matching requests waiting until the returned event is set."""
        gate = asyncio.Event()
        self._rules.append(_Rule(method, re.compile(path_regex), times, gate=gate))
        return gate

    def calls_to(self, method: str, path_regex: str) -> list[RestCall]:
        pattern = re.compile(path_regex)
        return [c for c in self.calls if c.method == method and pattern.fullmatch(c.path)]

    def delete_message(self, channel_id: int, message_id: int) -> None:
        """A person deletes their message (Discord would also send MESSAGE_DELETE; the bot ignores it)."""
        self.channel_messages.get(channel_id, {}).pop(message_id, None)

    def sent_messages(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Bodies of the requests that created a message, in order: what the person sees.

        That includes a message whose response was lost, and excludes a request a nonce matched to a
        message that already existed (Discord answers it with 200 but creates nothing).
        """
        channel = str(channel_id) if channel_id is not None else r"\d+"
        path = rf"/channels/{channel}/messages"
        return [c.body for c in self.calls_to("POST", path) if c.seq in self.created_ids]

    async def wait_until(self, condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "a condition") -> Any:
        """Bounded polling: return the first truthy value of `condition()`, or fail the test."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = condition()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_ready(self, shards: int = 1) -> None:
        await self.wait_until(
            lambda: sum(1 for s in self.sessions if s.identified and s.open) >= shards,
            what=f"{shards} identified gateway connection(s)",
        )

    def _shard_for(self, guild_id: int | None) -> int:
        count = next((s.shard[1] for s in self.sessions if s.open and s.identified), 1)
        return 0 if guild_id is None else (guild_id >> 22) % count

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None, intent: int = 0) -> bool:
        """Send a DISPATCH to the connection of the right shard; False when its intents filter it out."""
        shard = self._shard_for(guild_id)
        for session in self.sessions:
            if session.open and session.identified and session.shard[0] == shard:
                if intent and not session.intents & intent:
                    self.filtered.append((event, data))
                    return False
                if not isinstance(data, dict):  # a malformed payload, as tests send on purpose
                    session.sequence += 1
                    await session.ws.send_str(json.dumps({"op": 0, "t": event, "s": session.sequence, "d": data}))
                    return True
                payload = dict(data)
                if event == "MESSAGE_CREATE" and payload.get("guild_id") and not session.intents & MESSAGE_CONTENT:
                    if not self._content_exempt(payload):
                        payload["content"] = ""  # what Discord sends without the message-content intent
                session.sequence += 1
                await session.ws.send_str(json.dumps({"op": 0, "t": event, "s": session.sequence, "d": payload}))
                return True
        raise AssertionError(f"no open gateway connection for shard {shard}")

    def _content_exempt(self, data: dict[str, Any]) -> bool:
        """Whether a server message keeps its content without the message-content intent: the bot's
        own, and those that mention the bot or its managed role (@everyone/@here and other roles do not)."""
        if int(data["author"]["id"]) == self.bot_id:
            return True
        if any(int(u["id"]) == self.bot_id for u in data.get("mentions", [])):
            return True
        guild = self.guilds.get(int(data["guild_id"])) if data.get("guild_id") else None
        return guild is not None and str(guild.bot_role_id) in data.get("mention_roles", [])

    async def send_dm(self, user_id: int, content: str, *, channel_id: int | None = None,
                      message_id: int | None = None, dispatch: bool = True) -> dict[str, Any]:
        """A person writes to the bot in a DM (no CHANNEL_CREATE needed, as on Discord).

        With `dispatch=False` the message is in the channel's history but no gateway session receives
        it: what happens to a DM sent while the bot is down or reconnecting.
        """
        channel_id = channel_id or self.dm_channel(user_id)
        data = self.message_payload(channel_id=channel_id, author=self.user(user_id), content=content,
                                    message_id=message_id)
        self._store(data)
        if dispatch:
            await self.dispatch("MESSAGE_CREATE", data, intent=DIRECT_MESSAGES)
        return data

    def dm_channel(self, user_id: int) -> int:
        """A stable DM channel id per user."""
        channel_id = 1200000000000000000 + user_id % 10**15
        self.channel_guild[channel_id] = None
        return channel_id

    async def send_server_message(
        self, *, guild_id: int, channel_id: int, user_id: int, content: str, mention_bot: bool = True,
        mention_roles: Iterable[int] = (), everyone: bool = False, bot_author: bool = False,
        message_id: int | None = None, dispatch: bool = True,
    ) -> dict[str, Any]:
        """A message in a server channel of a server the bot is in (`add_guild`). With `mention_bot` it
        starts with `<@bot>` as a real mention does; each of `mention_roles` adds `<@&role>` (listed in
        `mention_roles` if the server has that role, as Discord does), `everyone` adds `@everyone`.
        `dispatch=False` as in `send_dm`."""
        guild = self._guild(guild_id)
        if channel_id not in guild.channels:
            raise AssertionError(f"channel {channel_id} is not in server {guild_id}; pass it to add_guild")
        self.channel_guild[channel_id] = guild_id
        roles = list(mention_roles)
        known = {int(r["id"]) for r in guild.roles}
        mentions = [self.bot_user] if mention_bot else []
        prefix = ([f"<@{self.bot_id}>"] if mention_bot else []) + [f"<@&{r}>" for r in roles]
        prefix += ["@everyone"] if everyone else []
        text = " ".join([*prefix, content])
        data = self.message_payload(channel_id=channel_id, author=self.user(user_id, bot=bot_author), content=text,
                                    guild_id=guild_id, mentions=mentions, message_id=message_id,
                                    mention_roles=[r for r in roles if r in known], mention_everyone=everyone)
        self._store(data)
        if dispatch:
            await self.dispatch("MESSAGE_CREATE", data, guild_id=guild_id, intent=GUILD_MESSAGES)
        return data

    def _store(self, data: dict[str, Any]) -> None:
        """Keep a message in its channel's history (a replay with the same id is the same message)."""
        self.channel_messages.setdefault(int(data["channel_id"]), {})[int(data["id"])] = data

    async def invalidate_session(self, session: GatewaySession | None = None) -> None:
        """Opcode 9 with `d: false`: the client must IDENTIFY afresh (a new READY, no replay of the
        events it missed), as after an outage on Discord's side or a session that timed out."""
        session = session or next(s for s in reversed(self.sessions) if s.open and s.identified)
        await session.ws.send_str(json.dumps({"op": 9, "d": False}))

    async def add_reaction(self, *, user_id: int, channel_id: int, message_id: int | str, emoji: str,
                           guild_id: int | None = None, author_id: int | None = None) -> bool:
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if author_id is not None:
            data["message_author_id"] = str(author_id)
        if guild_id is not None:
            self._guild(guild_id)
            data["guild_id"] = str(guild_id)
            data["member"] = {**self._member(user_id, guild_id), "user": self.user(user_id)}
        intent = GUILD_MESSAGE_REACTIONS if guild_id is not None else DIRECT_MESSAGE_REACTIONS
        return await self.dispatch("MESSAGE_REACTION_ADD", data, guild_id=guild_id, intent=intent)

    async def invoke_command(self, name: str, *, user_id: int, channel_id: int | None = None,
                             guild_id: int | None = None, options: list[dict[str, Any]] | None = None,
                             user_install: bool = False, group_dm: bool = False) -> Interaction:
        """A person runs a slash command: INTERACTION_CREATE (type 2, APPLICATION_COMMAND).

        `options` as Discord sends them (a subcommand is `{"type": 1, "name": …, "options": […]}`);
        `user_install`: the app is installed to the person's account (authorizing owner "1"), as when
        it runs in a DM or group DM (`group_dm`: context 2, a channel the bot is not in)."""
        command = next((c for c in self.commands if c["name"] == name), None)
        interaction_id = str(self.snowflake())
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(24)
        data: dict[str, Any] = {
            "id": interaction_id,
            "application_id": str(self.application_id),
            "type": 2,
            "token": token,
            "version": 1,
            "data": {"id": command["id"] if command else str(self.snowflake()), "name": name, "type": 1,
                     **({"options": options} if options else {})},
            "locale": "en-US",
            "app_permissions": "562949953421311",
            "entitlements": [],
            "attachment_size_limit": 10485760,
        }
        if guild_id is None:
            channel_id = channel_id or self.dm_channel(user_id)
            data["channel_id"] = str(channel_id)
            data["channel"] = {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0,
                               "recipients": [self.user(user_id)]}
            data["user"] = self.user(user_id)
            data["context"] = 1  # BOT_DM
            data["authorizing_integration_owners"] = {"0": str(user_id)}
            if group_dm:
                data["channel"] = {"id": str(channel_id), "type": 3, "last_message_id": None, "flags": 0,
                                   "recipients": [self.user(user_id)], "owner_id": str(user_id), "name": None}
                data["context"] = 2  # PRIVATE_CHANNEL
            if user_install or group_dm:
                data["authorizing_integration_owners"] = {"1": str(user_id)}
        else:
            assert channel_id is not None
            self._guild(guild_id)
            self.channel_guild[channel_id] = guild_id
            data["guild_id"] = str(guild_id)
            data["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            data["guild_locale"] = "en-US"
            data["channel_id"] = str(channel_id)
            data["channel"] = {"id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "general",
                               "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None,
                               "topic": None, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
            data["member"] = {**self._member(user_id, guild_id), "user": self.user(user_id),
                              "permissions": "2248473465835073"}
            data["context"] = 0  # GUILD
            data["authorizing_integration_owners"] = {"0": str(guild_id)}
        interaction = Interaction(id=interaction_id, token=token, payload=data)
        self.interactions[token] = interaction
        await self.dispatch("INTERACTION_CREATE", data, guild_id=guild_id)
        return interaction

    def interaction_calls(self, interaction: Interaction) -> list[RestCall]:
        return [c for c in self.calls if interaction.token in c.path]

    # -- REST -------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        call = RestCall(
            seq=next(self._seq), method=request.method, path=path, query=dict(request.query), body=body,
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        response = await self._answer(request.method, path, call)
        call.status = response.status
        call.done_seq = next(self._seq)
        return response

    async def _answer(self, method: str, path: str, call: RestCall) -> web.StreamResponse:
        for rule in self._rules:
            if rule.remaining > 0 and rule.method == method and rule.pattern.fullmatch(path):
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.remaining -= 1
                rule.matched += 1
                if rule.gate is not None:
                    await rule.gate.wait()
                    break
                if rule.after:
                    await self._handle(method, path, call)
                    return _json({"message": f"{rule.status}: {HTTPStatus(rule.status).phrase}", "code": 0},
                                 status=rule.status)
                if rule.status != 429:
                    message = {50007: "Cannot send messages to this user", 10003: "Unknown Channel"}.get(rule.code, "Missing Access")
                    return _json({"message": message, "code": rule.code}, status=rule.status)
                return _json(
                    {"message": "You are being rate limited.", "retry_after": rule.retry_after, "global": False},
                    status=429,
                    headers={"Via": "1.1 google", "Retry-After": str(max(1, round(rule.retry_after))),
                             "X-RateLimit-Scope": "user"},
                )
        return await self._handle(method, path, call)

    async def _handle(self, method: str, path: str, call: RestCall) -> web.Response:
        """What Discord does with a request that got past the injected failures."""
        webhook = path.startswith(("/interactions/", "/webhooks/"))
        if not webhook and call.authorization != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)

        if method == "GET" and path == "/users/@me":
            return _json(self.bot_user)
        if method == "GET" and path in ("/oauth2/applications/@me", "/applications/@me"):
            return _json(self._application())
        if method == "GET" and path in ("/gateway", "/gateway/bot"):
            data: dict[str, Any] = {"url": self.gateway_url.rstrip("/")}
            if path == "/gateway/bot":
                data |= {"shards": self.recommended_shards, "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1}}
            return _json(data)
        if m := re.fullmatch(r"/channels/(\d+)/typing", path):
            return web.Response(status=204)
        if (m := re.fullmatch(r"/channels/(\d+)/messages", path)) and method == "GET":
            return self._history(int(m.group(1)), call.query)
        if (m := re.fullmatch(r"/channels/(\d+)/messages", path)) and method == "POST":
            body = call.body or {}
            if len(body.get("content") or "") > 2000 or len(str(body.get("nonce") or "")) > 25 or embeds_error(body):
                return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
            reference = body.get("message_reference")
            if reference and int(reference.get("message_id") or 0) not in self.channel_messages.get(int(m.group(1)), {}):
                # Replying to a message that is gone: refused, unless the sender allowed a plain send.
                if reference.get("fail_if_not_exists", True):
                    return _json({"message": "Invalid Form Body", "code": 50035, "errors": {"message_reference": {
                        "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}}}, status=400)
                body = {k: v for k, v in body.items() if k != "message_reference"}
            key = (str(self.bot_id), str(body["nonce"])) if body.get("nonce") is not None else None
            if key is not None and body.get("enforce_nonce") and key in self._nonces:
                # Discord: "If another message was created by the same author with the same nonce,
                # that message will be returned and no new message will be created."
                existing = self._nonces[key]
                self.returned_ids[call.seq] = int(existing["id"])
                return _json(existing)
            created = self._create_message(int(m.group(1)), body)
            self.created_ids[call.seq] = int(created["id"])
            if key is not None:
                self._nonces[key] = created
            return _json(created)
        if (m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)) and method == "PATCH":
            return self._edit_message(int(m.group(1)), int(m.group(2)), call.body or {})
        if (m := re.fullmatch(r"/applications/(\d+)/commands", path)) and method == "PUT":
            self.commands = [self._command(c) for c in (call.body or [])]
            return _json(self.commands)
        if re.fullmatch(r"/applications/(\d+)/commands", path) and method == "GET":
            return _json(self.commands)
        if (m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)) and method == "POST":
            return self._interaction_callback(m.group(1), m.group(2), call.body or {})
        if (m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)", path)) and method == "POST":
            interaction = self.interactions.get(m.group(2))
            if interaction is None:  # the token expired (15 minutes) or never was
                return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
            if embeds_error(call.body or {}):
                return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
            channel_id = int(interaction.payload["channel_id"])
            return _json(self._bot_message(channel_id, call.body or {}))
        if (m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path)) and method == "PATCH":
            interaction = self.interactions.get(m.group(2))
            channel_id = int(interaction.payload["channel_id"]) if interaction else 0
            return _json(self._bot_message(channel_id, call.body or {}))
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _history(self, channel_id: int, query: dict[str, str]) -> web.Response:
        """Get Channel Messages: at most `limit` (1-100, default 50) messages, newest first whatever
        the query. With `after`, those right after it (the oldest ones past it); with `before` or no
        anchor, the newest ones before it. Content is blanked where the gateway would blank it."""
        try:
            limit = int(query.get("limit", "50"))
            after = int(query["after"]) if "after" in query else None
            before = int(query["before"]) if "before" in query else None
        except ValueError:
            return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
        if not 1 <= limit <= 100:
            return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
        ids = sorted(self.channel_messages.get(channel_id, {}))
        if before is not None:
            ids = [i for i in ids if i < before]
        if after is not None:
            ids = [i for i in ids if i > after][:limit]
        else:
            ids = ids[-limit:]
        content_intent = any(s.intents & MESSAGE_CONTENT for s in self.sessions if s.identified)
        page: list[dict[str, Any]] = []
        for message_id in reversed(ids):
            data = dict(self.channel_messages[channel_id][message_id])
            if data.get("guild_id") and not content_intent and not self._content_exempt(data):
                data["content"] = ""
            page.append(data)
        return _json(page)

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": "Trip Planner",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.user(1000000000000000001),
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "team": None,
            "bot": self.bot_user,
        }

    def _command(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": data.get("type", 1),
            "name": data["name"],
            "description": data.get("description", ""),
            "options": data.get("options", []),
            "default_member_permissions": data.get("default_member_permissions"),
            "dm_permission": data.get("dm_permission", True),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types", [0]),
            "nsfw": data.get("nsfw", False),
        }

    def _bot_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        guild_id = self.channel_guild.get(channel_id)
        reference = body.get("message_reference")
        data = self.message_payload(channel_id=channel_id, author=self.bot_user, content=body.get("content") or "",
                                    guild_id=guild_id, reference=reference)
        if reference:
            data["referenced_message"] = None
        data["components"] = body.get("components") or []  # buttons, as sent
        data["embeds"] = body.get("embeds") or []  # the trip's card, as sent
        data["flags"] = int(body.get("flags") or 0)  # 64: ephemeral (a follow-up only the clicker sees)
        return data

    def _create_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        data = self._bot_message(channel_id, body)
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]  # Discord stores it on the message and returns it as sent
        self._store(data)
        guild_id = self.channel_guild.get(channel_id)
        intent = GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES
        # Discord echoes the bot's own message back over the gateway.
        task = asyncio.get_running_loop().create_task(self._echo(data, guild_id, intent))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return data

    async def _echo(self, data: dict[str, Any], guild_id: int | None, intent: int) -> None:
        try:
            await self.dispatch("MESSAGE_CREATE", data, guild_id=guild_id, intent=intent)
        except (AssertionError, ConnectionError) as err:
            log.debug("echo not delivered: %s", err)

    def _interaction_callback(self, interaction_id: str, token: str, body: dict[str, Any]) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.id != interaction_id:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        if interaction.answered:  # one initial response per interaction, as on Discord
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, status=400)
        interaction.answered = True
        kind = body.get("type")
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        if kind == 7:
            self.update_from_callback(interaction, data)
        response: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": interaction.payload.get("type", 2),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": kind},
        }
        if kind == 4:
            message = self._bot_message(int(interaction.payload["channel_id"]), data)
            message["flags"] = flags
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"]["message"] = message
        return _json(response)

    # -- gateway ----------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = GatewaySession(ws=ws)
        self.sessions.append(session)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:  # HEARTBEAT
                    session.heartbeats += 1
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:  # IDENTIFY
                    await self._identify(session, frame["d"])
                elif op == 6:  # RESUME
                    if frame["d"].get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    session.identified = True
                    session.sequence = int(frame["d"].get("seq") or 0) + 1
                    await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": session.sequence, "d": {}}))
                elif op == 8:  # REQUEST_GUILD_MEMBERS: recorded only (the bot has no members intent)
                    session.member_requests.append(frame["d"])
        finally:
            session.close_code = ws.close_code
            session.closed_seq = next(self._seq)
        return ws

    async def _identify(self, session: GatewaySession, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = data.get("shard") or [0, 1]
        session.shard = (int(shard[0]), int(shard[1]))
        session.intents = int(data.get("intents", 0))
        session.identify = {k: v for k, v in data.items() if k != "token"}
        session.session_id = secrets.token_hex(16)
        session.sequence = 1
        session.identified = True
        index, count = session.shard
        guild_ids = [g for g in self.guilds if (g >> 22) % count == index]  # this shard's servers
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url.rstrip("/"),
            "shard": list(session.shard),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth_session_id_hash": "",
        }
        await session.ws.send_str(json.dumps({"op": 0, "t": "READY", "s": session.sequence, "d": ready}))
        # Then each server in full, as Discord lazy-loads them; without the GUILDS intent, none.
        for guild_id in guild_ids:
            payload = self.guild_payload(guild_id)
            if not session.intents & GUILDS:
                self.filtered.append(("GUILD_CREATE", payload))
                continue
            session.sequence += 1
            await session.ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": session.sequence, "d": payload}))

"""A stand-in for Slack: the Web API, Socket Mode, and a signer for Events API requests.

It speaks the real protocols over real sockets on 127.0.0.1 so the real slack-bolt / slack-sdk code
runs unchanged against it: the product only needs `SLACK_API_URL` pointed here. Payloads are shaped
as Slack sends them (event_callback envelopes with `authorizations`, `x-www-form-urlencoded` slash
commands, Socket Mode envelopes with `retry_attempt`), and every Web API call is recorded so tests
can assert what the app did, including what it did *not* do.

Like Slack, it keeps the messages people (and other bots) post, whether or not their event reaches
the app: a message sent through `send_event`/`send_envelope` is kept, and `post_user_message` keeps
one without delivering it (the app was down). `conversations.history` lists them with the bot's own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.standins.serving import serve_locally
from tests.standins.slack_stream import SlackStreamMixin
from tests.standins.slack_home import SlackHomeMixin
from tests.standins.slack_ai import SlackAIMixin

log = logging.getLogger(__name__)

TEAM_ID = "T0TEAM0001"
BOT_USER_ID = "U0BOT00001"
BOT_ID = "B0BOT00001"
APP_ID = "A0APP00001"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111-2222-standintoken"
APP_TOKEN = "xapp-1-A0APP00001-3333-standintoken"


@dataclass
class ApiCall:
    """One Web API request as the stand-in saw it, and the HTTP status it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int = 200


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    times: int
    after_apply: bool = False  # the call takes effect, then the answer is an error (a lost response)


@dataclass
class Envelope:
    envelope_id: str
    payload: dict[str, Any]
    type: str
    retry_attempt: int
    ack: dict[str, Any] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 over `v0:{timestamp}:{raw body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackStandIn(SlackAIMixin, SlackHomeMixin, SlackStreamMixin):
    """Web API at `api_url`, a Socket Mode websocket, and builders for Slack's payloads."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message posted by the bot
        self.others: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> a person's or another bot's
        self.envelopes: list[Envelope] = []
        self.socket_connections = 0
        self._failures: dict[str, list[_Failure]] = {}
        # The bot token's scopes, sent as Slack does in auth.test's `x-oauth-scopes` header (None: no header).
        self.scopes: list[str] | None = None
        self._held: dict[str, asyncio.Event] = {}
        self._gone: set[str] = set()
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self._init_ai()
        self._init_home()
        self._init_stream()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_get("/api/{method}", self._web_api)  # slack_sdk sends some reads as GET
        app.router.add_get("/socket", self._socket)
        self._runner, self.port = await serve_locally(app, access_log=None)
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- the Web API ----------------------------------------------------------------------------

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int | None = 1, times: int = 1, after_apply: bool = False
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429 carries Retry-After). With
        `after_apply` the call is carried out first, as when Slack fails after posting."""
        self._failures.setdefault(method, []).append(_Failure(status, retry_after, times, after_apply))

    def hold(self, method: str) -> asyncio.Event:
        """Apply `method` calls at once (users see the message) but keep the response back until the
        returned event is set: the gap in which Slack shows a message its poster has not heard of yet."""
        return self._held.setdefault(method, asyncio.Event())

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def next_ts(self) -> str:
        """A fresh, increasing Slack timestamp (seconds.micro-sequence), unique in this stand-in."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(json.loads(raw or b"{}"))
        elif raw:
            args.update(await request.post())
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or args.get("token")
        call = ApiCall(method=method, args=args, token=token)
        self.calls.append(call)
        failures = self._failures.get(method)
        failure = failures[0] if failures else None
        if failures and failure is not None:
            failure.times -= 1
            if failure.times <= 0:
                failures.pop(0)
            call.status = failure.status
        response = await self._answer_call(method, args, token, failure)
        held = self._held.get(method)
        if held is not None:  # whatever the answer, it is kept back until the test lets it go
            await held.wait()
        return response

    def remove_bot_from(self, channel: str) -> None:
        """The bot was removed from `channel` (or it was deleted): every call there fails as Slack's do."""
        self._gone.add(channel)

    async def _answer_call(self, method: str, args: dict[str, Any], token: str | None, failure: _Failure | None) -> web.Response:
        if failure is not None and not failure.after_apply:
            return self._failure_response(failure)
        if args.get("channel") in self._gone:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != wanted and method != "response_url":  # a response_url needs no token
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        body = handler(args) if handler else {"ok": True}
        if failure is not None:
            return self._failure_response(failure)
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if self.scopes is not None and method == "auth.test" else None
        return web.json_response(body, headers=headers)

    @staticmethod
    def _failure_response(failure: _Failure) -> web.Response:
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        error = "ratelimited" if failure.status == 429 else "internal_error"
        return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://standin.slack.com/",
            "team": "Stand-in Team",
            "user": "tripbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks") and not args.get("markdown_text"):
            return {"ok": False, "error": "no_text"}
        if error := self.blocks_error(self._blocks(args)):
            return {"ok": False, "error": error}
        ts = self.next_ts()
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": APP_ID,
            "text": args.get("text", ""),
            "ts": ts,
            "team": self.team_id,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as a JSON string
            metadata = json.loads(metadata)
        if metadata:
            message["metadata"] = metadata
        blocks = self._blocks(args)
        if blocks:
            message["blocks"] = blocks
        self.messages[(channel, ts)] = message
        self._replied(channel, args.get("thread_ts"))
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args.get("channel", ""), args.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        if key in self.streaming:
            return {"ok": False, "error": "cant_update_message"}
        if error := self.blocks_error(self._blocks(args)):
            return {"ok": False, "error": error}
        metadata = args.get("metadata")
        if metadata:  # chat.update replaces the metadata when it is given
            self.messages[key]["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.messages[key]["text"] = args.get("text", "")
        blocks = self._blocks(args)
        if blocks:
            self.messages[key]["blocks"] = blocks
        else:  # an update with text only replaces the blocks too, as Slack does
            self.messages[key].pop("blocks", None)
        self.messages[key]["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}

    @staticmethod
    def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)  # form calls send JSON text

    def _api_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args.get("channel", ""), args.get("ts", ""))
        if self.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _in_channel(self, channel: str) -> dict[str, dict[str, Any]]:
        """Every message in `channel` (the bot's and everyone else's), by ts."""
        found = {ts: m for (ch, ts), m in self.others.items() if ch == channel}
        found.update({ts: m for (ch, ts), m in self.messages.items() if ch == channel})
        return found

    def _api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread, oldest first: its parent and replies."""
        channel, ts = args.get("channel", ""), args.get("ts", "")
        thread = [m for m_ts, m in self._in_channel(channel).items() if m_ts == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        messages, has_more = self._listed(thread, args, newest_first=False)
        return self._paged(messages, has_more, args)

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first: thread replies stay in their threads (unless
        also sent to the channel), and a thread's parent carries `thread_ts` and `reply_count`."""
        everything = self._in_channel(args.get("channel", ""))
        top: list[dict[str, Any]] = []
        for ts, m in everything.items():
            if m.get("thread_ts", ts) != ts and m.get("subtype") != "thread_broadcast":
                continue
            replies = sum(1 for other in everything.values() if other.get("thread_ts") == ts and other["ts"] != ts)
            top.append(dict(m, thread_ts=ts, reply_count=replies) if replies else m)
        messages, has_more = self._listed(top, args, newest_first=True)
        return self._paged(messages, has_more, args)

    @staticmethod
    def _listed(messages: list[dict[str, Any]], args: dict[str, Any], *, newest_first: bool) -> tuple[list[dict[str, Any]], bool]:
        """Slack's paging arguments: `oldest` and `latest` (exclusive unless `inclusive`), `limit`
        (default 100; with newest first, the newest of the range); metadata only when asked for.
        Returns the page and `has_more`."""

        def flag(name: str) -> bool:
            return str(args.get(name, "")).lower() in ("1", "true")

        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else float("inf")
        inclusive = flag("inclusive")
        in_range = [
            m for m in messages
            if (float(m["ts"]) >= oldest if inclusive else float(m["ts"]) > oldest)
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        ]
        chosen = sorted(in_range, key=lambda m: float(m["ts"]), reverse=newest_first)
        limit = int(args.get("limit") or 100)
        start = SlackStandIn._cursor_offset(args)
        page = chosen[start:start + limit]
        with_metadata = flag("include_all_metadata")
        return [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page], len(chosen) > start + limit

    @staticmethod
    def _cursor_offset(args: dict[str, Any]) -> int:
        """Where the page starts: our cursors encode the offset into the listing."""
        return int(base64.b64decode(args["cursor"]).decode().removeprefix("offset:")) if args.get("cursor") else 0

    @staticmethod
    def _paged(messages: list[dict[str, Any]], has_more: bool, args: dict[str, Any]) -> dict[str, Any]:
        """The response with Slack's cursor paging (`response_metadata.next_cursor`, opaque base64)."""
        start = SlackStandIn._cursor_offset(args)
        following = base64.b64encode(f"offset:{start + len(messages)}".encode()).decode() if has_more else ""
        return {"ok": True, "messages": messages, "has_more": has_more, "response_metadata": {"next_cursor": following}}

    def _api_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    # -- what people posted -----------------------------------------------------------------------

    def record_message(self, event: dict[str, Any]) -> None:
        """Keep what a `message` (or `app_mention`) event says was posted, as Slack keeps it whether or
        not the event reaches the app: a new message, an edit, or a deletion. The bot's own posts
        are kept by `chat.postMessage`; a bot post built by `bot_post` is kept here like anyone's."""
        if event.get("type") not in ("message", "app_mention") or not event.get("channel"):
            return
        channel, subtype = event["channel"], event.get("subtype")
        if subtype == "message_changed":
            edited = event.get("message") or {}
            if edited.get("ts"):
                self.others[(channel, edited["ts"])] = self._as_stored(edited)
            return
        if subtype == "message_deleted":
            self.others.pop((channel, event.get("deleted_ts", "")), None)
            return
        if event.get("ts"):
            self.others[(channel, event["ts"])] = self._as_stored(event)

    @staticmethod
    def _as_stored(event: dict[str, Any]) -> dict[str, Any]:
        """A message as history lists it: without the event's own fields (the place, event_ts)."""
        stored = {k: v for k, v in event.items() if k not in ("channel", "channel_type", "event_ts")}
        stored["type"] = "message"
        return stored

    def post_user_message(
        self, *, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A person posts `text`: Slack keeps it (history lists it) but the event is not delivered, as
        while the app is down. Returns the event, should a test deliver it later."""
        event = self.user_message(user=user, channel=channel, text=text, thread_ts=thread_ts)
        self.record_message(event)
        return event

    def user_messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages people and other bots posted in `channel`, oldest first."""
        return sorted((m for (ch, _ts), m in self.others.items() if ch == channel), key=lambda m: float(m["ts"]))

    # -- what the bot posted, as a user would see it ----------------------------------------------

    def bot_messages(self, channel: str, *, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages in `channel` (in one thread when `thread_ts` is given), oldest first."""
        found = [
            m for (ch, _ts), m in self.messages.items()
            if ch == channel and (thread_ts is None or m.get("thread_ts") == thread_ts)
        ]
        return sorted(found, key=lambda m: float(m["ts"]))

    # -- Events API over HTTP -------------------------------------------------------------------

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """The outer envelope Slack wraps every event in."""
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }

    async def post_signed(
        self,
        url: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        timestamp: int | None = None,
        secret: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> tuple[int, str]:
        """POST `body` as Slack does: signed with the signing secret (or `secret`, to forge one)."""
        assert self._session is not None
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.signing_secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        async with self._session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def send_event(self, url: str, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any) -> tuple[int, str]:
        self.record_message(event)
        body = json.dumps(self.event_callback(event, event_id=event_id)).encode()
        return await self.post_signed(url, body, **kwargs)

    def command_payload(self, *, user: str, channel: str, text: str, command: str = "/trip") -> dict[str, str]:
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "standin",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:{self.port}/api/response_url",
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        }

    async def send_command(self, url: str, **kwargs: Any) -> tuple[int, str]:
        body = urlencode(self.command_payload(**kwargs)).encode()
        return await self.post_signed(url, body, content_type="application/x-www-form-urlencoded")

    # -- Socket Mode ----------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._socket_ready.set()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                for envelope in self.envelopes:
                    if envelope.envelope_id == data.get("envelope_id"):
                        envelope.ack = data
                        envelope.acked.set()
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_ready.clear()
        return ws

    async def wait_socket(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def send_envelope(
        self, payload: dict[str, Any], *, type: str = "events_api", retry_attempt: int = 0, envelope_id: str | None = None,
        connection: int = -1,
    ) -> Envelope:
        """Push one envelope down a Socket Mode connection (the newest by default; Slack spreads
        envelopes over every open connection of the app, which `connection` picks)."""
        await self.wait_socket()
        if type == "events_api":
            self.record_message(payload.get("event") or {})
        envelope = Envelope(envelope_id or str(uuid.uuid4()), payload, type, retry_attempt)
        self.envelopes.append(envelope)
        await self._sockets[connection].send_json(
            {
                "envelope_id": envelope.envelope_id,
                "payload": payload,
                "type": type,
                "accepts_response_payload": type != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope

    # -- events as Slack shapes them ------------------------------------------------------------

    def user_message(
        self, *, user: str, channel: str, text: str, ts: str | None = None, thread_ts: str | None = None,
        channel_type: str | None = None,
    ) -> dict[str, Any]:
        """A person's `message` event (channel_type `im` for a DM channel id starting with D)."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "user": user,
            "type": "message",
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "text": text,
            "team": self.team_id,
            "blocks": [
                {"type": "rich_text", "block_id": uuid.uuid4().hex[:5],
                 "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}
            ],
            "channel": channel,
            "event_ts": ts,
            "channel_type": channel_type or ("im" if channel.startswith("D") else "channel"),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
            event["parent_user_id"] = self.bot_user_id
        return event

    def app_mention(self, message: dict[str, Any]) -> dict[str, Any]:
        """The `app_mention` Slack sends alongside a channel `message` that mentions the bot."""
        event = {k: v for k, v in message.items() if k not in ("channel_type", "parent_user_id")}
        event["type"] = "app_mention"
        return event

    def bot_post(self, *, channel: str, text: str, bot_id: str | None = None, user: str | None = None) -> dict[str, Any]:
        """A message by a bot (ours by default) as it echoes back through `message.im`."""
        ts = self.next_ts()
        return {
            "bot_id": bot_id or self.bot_id,
            "type": "message",
            "text": text,
            "user": user or self.bot_user_id,
            "ts": ts,
            "app_id": APP_ID,
            "team": self.team_id,
            "bot_profile": {"id": bot_id or self.bot_id, "app_id": APP_ID, "name": "tripbot", "team_id": self.team_id},
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im" if channel.startswith("D") else "channel",
        }

    def message_changed(self, original: dict[str, Any], new_text: str) -> dict[str, Any]:
        ts = self.next_ts()
        edited = dict(original, text=new_text, edited={"user": original["user"], "ts": ts})
        return {
            "type": "message",
            "subtype": "message_changed",
            "message": edited,
            "previous_message": original,
            "channel": original["channel"],
            "hidden": True,
            "ts": ts,
            "event_ts": ts,
            "channel_type": original.get("channel_type", "im"),
        }

    def file_share(self, *, user: str, channel: str) -> dict[str, Any]:
        ts = self.next_ts()
        return {
            "type": "message",
            "subtype": "file_share",
            "text": "",
            "files": [{"id": "F0FILE0001", "name": "itinerary.pdf", "mimetype": "application/pdf", "filetype": "pdf"}],
            "upload": False,
            "user": user,
            "display_as_bot": False,
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im" if channel.startswith("D") else "channel",
        }

    def reaction_added(self, *, user: str, channel: str, ts: str, reaction: str = "+1", item_user: str | None = None) -> dict[str, Any]:
        return {
            "type": "reaction_added",
            "user": user,
            "reaction": reaction,
            "item_user": item_user or self.bot_user_id,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self.next_ts(),
        }


async def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `condition` until it holds (no fixed sleeps in tests); fail loudly after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# -- pytest fixtures, imported by the Slack test modules ---------------------------------------------

import pytest


@pytest.fixture(name="slack")
async def slack_standin() -> Any:
    """A started Slack stand-in, closed after the test."""
    standin = SlackStandIn()
    await standin.start()
    yield standin
    await standin.close()

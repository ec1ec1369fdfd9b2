"""The Slack adapter: Bolt events in, `TripPlannerRunner` calls, Web API posts out.

It translates and nothing more. Every rule about conversations (dedupe, locking, what a 👍 means)
lives in the core; this file decides only which Slack events are a user's new message, where the
answer goes (the DM, or the mention's thread), and how it is shown (a placeholder updated in place,
converted and split by `formatting`).

Bolt acks an event before running its listener and keeps no reference to the task it starts, so the
work is handed to tasks this class tracks itself: on SIGTERM `stop()` can let answers in flight
finish (bounded) instead of dropping them mid-post.

Slack retries an event it could not deliver for a few minutes only. DMs sent during a longer outage
are found after start-up by `catch_up`, which reads each recent DM's history after the last message
stored there and passes every message through the same path as a live `message` event.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Coroutine
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bots.slack.config import EVENTS_PATH, SlackConfig
from bots.slack.formatting import render
from bots.slack.identity import message_key, session_user_id, team_of, thread_key, ts_of_key
from bots.slack.posting import PLACEHOLDER_PART, POST_EVENT_TYPE, PlaceGone, PostTag, SlackPoster, build_client
from trip_planner.config import ConfigError
from trip_planner.core.messages import APOLOGY, Reaction, Reply
from trip_planner.core.runner import (
    SATISFIED_REPLY,
    UNSATISFIED_REPLY,
    AcceptedMessage,
    TripPlannerRunner,
    Undeliverable,
)
from trip_planner.core.store import InboundRecord

log = logging.getLogger(__name__)

PLACEHOLDER = "_Planning your trip…_"
FILES_NOTE = "I can only read text for now. Please type your question as a message."
NEW_TRIP_REPLY = "Started a new trip. Where would you like to go?"
ENDED_REPLY = "Glad I could help! I've closed this trip. Send a new message any time to plan another."
NOTHING_TO_END = "There is no open trip to end. Send me a message to start one."
COMMAND_WAIT = "One moment: I'm finishing the answer in progress first."
COMMAND_ACK_S = 2.0  # Slack shows an error when a command is not acknowledged within 3 s
COMMAND_HELP = "Use `/trip new` to start a new trip or `/trip end` to finish the current one."
RESTART_WORDS = {"new trip", "start over"}
SEEN_TTL_S = 15 * 60.0  # longer than Slack's ~5 minutes of retries
DEFAULT_DRAIN_TIMEOUT_S = 25.0  # Heroku-style platforms kill 30 s after SIGTERM

# Catch-up after start-up (see `SlackBot.catch_up`): which DMs are read, and how much one pass may do.
CATCH_UP_WINDOW_S = 24 * 3600.0  # DMs with a stored message this recent
CATCH_UP_MAX_PLACES = 200  # DMs per pass, the most recently active first
CATCH_UP_MAX_MESSAGES = 100  # messages read per DM and pass (one conversations.history request)

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_PUNCT = re.compile(r"[^\w\s]")
_ALLOWED_SUBTYPES = {None, "thread_broadcast", "file_share"}


def _ts_value(ts: Any) -> Decimal | None:
    """A Slack ts as an exact number (a float can merge two ts of one second), or None if it is not one."""
    try:
        return Decimal(str(ts))
    except (InvalidOperation, ValueError):
        return None


def _try_elsewhere() -> BoltResponse:
    """Refuse a delivery while shutting down: unacknowledged, Slack delivers it again (to another
    worker, or to this app once it is back), instead of it being acknowledged and dropped."""
    return BoltResponse(status=503, body="")


class _SeenMessages:
    """In-process memory of notes already posted ("new trip", "I can only read text").

    Notes are not stored in the core, so nothing else stops the same message, arriving as `message`
    and `app_mention` or as a Slack retry, from getting two. Questions need no such memory: the core's
    durable insert decides, and only after it succeeded is anything posted.
    """

    def __init__(self, ttl_s: float = SEEN_TTL_S, max_items: int = 50_000) -> None:
        self._ttl_s = ttl_s
        self._max_items = max_items
        self._items: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str) -> bool:
        now = time.monotonic()
        while self._items and (len(self._items) > self._max_items or next(iter(self._items.values())) < now - self._ttl_s):
            self._items.popitem(last=False)
        if key in self._items:
            return False
        self._items[key] = now
        return True


class SlackBot:
    """The Bolt app, its listeners and its background work, for one `TripPlannerRunner`."""

    def __init__(
        self,
        runner: TripPlannerRunner,
        config: SlackConfig,
        *,
        drain_timeout_s: float = DEFAULT_DRAIN_TIMEOUT_S,
        recovery_every_s: float = 60.0,
        recovery_after_s: float = 300.0,
    ) -> None:
        self.runner = runner
        # Answers not posted within `recovery_after_s` (a crash, Slack down) are posted by a sweep.
        self.recovery_every_s = recovery_every_s
        self.recovery_after_s = recovery_after_s
        self._recovery: asyncio.Task[None] | None = None
        self.config = config
        self.drain_timeout_s = drain_timeout_s
        self.client = build_client(config)
        self.poster = SlackPoster(self.client)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret or "",
            # Socket Mode traffic is authenticated by the app token; there is nothing to sign.
            request_verification_enabled=not config.socket_mode,
            # Listeners store a message before Bolt acknowledges it (they only store it, then hand the
            # answer to a task): an acknowledged message is never lost, and one we could not store is
            # refused, so Slack delivers it again.
            process_before_response=True,
            logger=logging.getLogger("bots.slack.bolt"),
        )
        self.bot_user_id: str | None = None
        self.http_port: int | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._seen = _SeenMessages()
        self._accepting = True
        self._answer_threads: OrderedDict[str, str | None] = OrderedDict()  # answer ts -> its thread_ts
        self._threads_answering: dict[tuple[str, str, str, str], int] = {}  # (team, channel, thread, user) -> answers running
        self._web_runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._socket: AsyncSocketModeHandler | None = None
        # Slack retries an undelivered event for minutes only: after start-up, recent DMs' history is
        # read for messages sent while no process took events (see `catch_up`).
        self.catch_up_window_s = CATCH_UP_WINDOW_S
        self.catch_up_places = CATCH_UP_MAX_PLACES
        self.catch_up_messages = CATCH_UP_MAX_MESSAGES
        self.catch_up_passes = 0  # finished passes (answers are tasks of their own): for logs and tests
        self._catch_up: asyncio.Task[object] | None = None
        self._register()

    # -- lifecycle ------------------------------------------------------------------------------

    async def verify(self) -> None:
        """Check the bot token with auth.test, so a revoked token fails start-up, not the first event."""
        try:
            result = await self.client.auth_test()
        except SlackApiError as err:
            error = err.response.get("error") if err.response is not None else "unknown"
            raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({error}); copy the bot token again.") from None
        self.bot_user_id = result.get("user_id")
        self.poster.bot_user_id, self.poster.bot_id = self.bot_user_id, result.get("bot_id")
        log.info("Slack bot %s (%s) in team %s", result.get("user"), self.bot_user_id, result.get("team_id"))

    async def start(self) -> None:
        """Verify the token, then take events: Socket Mode with an app token, else HTTP; once events
        flow, look for DMs sent while the app was down (`catch_up`, in the background)."""
        started_at = time.time()
        await self.verify()
        self._recovery = asyncio.create_task(
            self.runner.run_recovery(self.redeliver, platform="slack", every_s=self.recovery_every_s, older_than_s=self.recovery_after_s),
            name="slack-recovery",
        )
        if self.config.socket_mode:
            self._socket = AsyncSocketModeHandler(self.app, self.config.app_token)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")
            self._start_catch_up(started_at)
            return
        self._web_runner = web.AppRunner(self.app.web_app(path=EVENTS_PATH), access_log=None)
        await self._web_runner.setup()
        self._site = web.TCPSite(self._web_runner, self.config.host, self.config.port)
        await self._site.start()
        server = self._site._server
        sockets = getattr(server, "sockets", None) or []
        self.http_port = sockets[0].getsockname()[1] if sockets else self.config.port
        log.info("Slack Events API listening on %s:%s%s", self.config.host, self.http_port, EVENTS_PATH)
        self._start_catch_up(started_at)

    def pause(self) -> None:
        """Refuse new events from now on (unacknowledged, so Slack delivers them again, to another
        worker or to the next start); answers in flight carry on. The first step of `stop`."""
        self._accepting = False

    async def stop(self) -> None:
        """Stop taking events, let answers in flight finish (bounded), then close the connections."""
        self.pause()
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        if self._socket is not None:
            await self._socket.close_async()
        if self._site is not None:
            await self._site.stop()
        await self.drain(self.drain_timeout_s)
        if self._web_runner is not None:
            await self._web_runner.cleanup()

    async def drain(self, timeout_s: float) -> None:
        """Wait for the tracked work, including tasks it starts meanwhile (a listener or the catch-up
        that was storing a message when `pause` came); what still runs after `timeout_s` is cancelled."""
        pending = {t for t in self._tasks if not t.done()}
        if not pending:
            return
        log.info("Waiting up to %.0fs for %d answer(s) in flight", timeout_s, len(pending))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending and loop.time() < deadline:
            await asyncio.wait(pending, timeout=deadline - loop.time())
            pending = {t for t in self._tasks if not t.done()}
        for task in pending:
            task.cancel()
        if pending:
            log.warning("Cancelled %d answer(s) still running at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    def _spawn(self, work: Coroutine[Any, Any, object], name: str) -> asyncio.Task[object]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack task %s failed", task.get_name(), exc_info=task.exception())

    # -- listeners ------------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_app_mention)
        app.event("reaction_added")(self._on_reaction_added)
        app.command("/trip")(self._on_trip_command)
        # Everything else is acknowledged too: Bolt answers an unmatched request with 404 (and never
        # acks it in Socket Mode), and Slack then retries it for minutes.
        everything = re.compile(".*")
        app.event(everything)(self._ignore_event)
        for register in (app.command, app.action, app.shortcut, app.view, app.options):
            register(everything)(self._ack_only)

    async def _ignore_event(self, body: dict[str, Any]) -> None:
        log.debug("Ignoring Slack event %s", (body.get("event") or {}).get("type"))

    async def _ack_only(self, ack: AsyncAck) -> None:
        await ack()

    def _is_from_a_bot(self, event: dict[str, Any], context: dict[str, Any]) -> bool:
        bot_user = context.get("bot_user_id") or self.bot_user_id
        return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message") or (
            bot_user is not None and event.get("user") == bot_user
        )

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        """DMs, and follow-ups in a channel thread where the bot already answered this user."""
        taken = await self._take_message(event, body, context)
        return taken if isinstance(taken, BoltResponse) else None

    async def _take_message(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | bool:
        """A `message` event, live or read back from history by `catch_up`: both go through here, so
        they are filtered, deduplicated and answered alike. True when it was taken (stored and being
        answered, or a note or new trip is posted for it); False when it is not for the bot or was
        already taken; a response refusing the delivery when it cannot be taken now."""
        if self._is_from_a_bot(event, context):
            return False
        if not self._accepting:
            return _try_elsewhere()
        subtype = event.get("subtype")
        if subtype not in _ALLOWED_SUBTYPES or not event.get("user") or not event.get("ts"):
            return False  # edits, deletions, joins, topic changes…: not a user's new message
        team, channel, user, ts = team_of(context, body), event["channel"], event["user"], event["ts"]
        thread_ts: str | None = event.get("thread_ts")
        if event.get("channel_type") != "im" and (
            not thread_ts or not await self._bot_answered_in_thread(team, channel, thread_ts, user)
        ):
            return False  # a channel message that is not for us (mentions come as app_mention)
        key = message_key(team, channel, ts)
        if subtype == "file_share":
            if self._seen.claim(key):
                self._spawn(self.poster.post(channel, thread_ts, FILES_NOTE, PostTag(key, "note", ts)), f"slack-files-{key}")
            return True
        text = _MENTION.sub("", event.get("text") or "").strip()
        if event.get("channel_type") == "im" and _PUNCT.sub("", text).strip().lower() in RESTART_WORDS:
            if self._seen.claim(key):
                self._spawn(self._restart(team, channel, user, thread_ts, PostTag(key, "note", ts)), f"slack-new-{key}")
            return True
        # Deduplicated by the core's durable insert alone: an in-memory "seen" mark taken before the
        # insert succeeded would let a retry arriving meanwhile be acknowledged and the message lost.
        return await self._accept(team, channel, user, ts, thread_ts, text)

    async def _on_app_mention(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        """A mention in a channel: answer in the mention's thread (or start one under it)."""
        if self._is_from_a_bot(event, context):
            return None
        if not self._accepting:
            return _try_elsewhere()
        if event.get("subtype") not in _ALLOWED_SUBTYPES or not event.get("user") or not event.get("ts"):
            return None
        team, channel, user, ts = team_of(context, body), event["channel"], event["user"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        key = message_key(team, channel, ts)
        if event.get("subtype") == "file_share" or (event.get("files") and not _MENTION.sub("", event.get("text") or "").strip()):
            if self._seen.claim(key):
                self._spawn(self.poster.post(channel, thread_ts, FILES_NOTE, PostTag(key, "note", ts)), f"slack-files-{key}")
            return None
        text = _MENTION.sub("", event.get("text") or "").strip()
        taken = await self._accept(team, channel, user, ts, thread_ts, text)
        return taken if isinstance(taken, BoltResponse) else None

    async def _on_reaction_added(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not event.get("user"):
            return None
        bot_user = context.get("bot_user_id") or self.bot_user_id
        if event["user"] == bot_user or (event.get("item_user") and event.get("item_user") != bot_user):
            return None  # only a person's reaction on one of the bot's own messages can mean anything
        if not self._accepting:
            return _try_elsewhere()
        team = team_of(context, body)
        self._spawn(
            self._react(team, item["channel"], event["user"], item["ts"], event.get("reaction") or ""),
            f"slack-reaction-{item['channel']}-{item['ts']}",
        )
        return None

    async def _on_trip_command(
        self, ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """`/trip new` and `/trip end`, answered privately in the command's response.

        Slack wants the acknowledgement within 3 seconds, but starting or ending a trip waits for an
        answer in progress for that user. So the reply goes in the acknowledgement when it is quick,
        and otherwise the acknowledgement says "one moment" and the reply follows via `respond`.
        """
        word = (command.get("text") or "").strip().lower()
        if word not in ("new", "end"):
            await ack(text=COMMAND_HELP)
            return
        user_id = session_user_id(team_of(context, body), command["channel_id"], command["user_id"])
        work = asyncio.ensure_future(self._trip_command(word, user_id))
        done, _ = await asyncio.wait({work}, timeout=COMMAND_ACK_S)
        if done:
            await ack(text=work.result())
            return
        await ack(text=COMMAND_WAIT)

        async def follow_up() -> None:
            text = await work
            try:
                await respond(text=text, response_type="ephemeral")
            except Exception:
                log.exception("Could not send the result of /trip %s", word)

        self._spawn(follow_up(), f"slack-trip-{word}-{user_id}")

    async def _trip_command(self, word: str, user_id: str) -> str:
        try:
            if word == "new":
                await self.runner.new_conversation(user_id)
                return NEW_TRIP_REPLY
            ended = await self.runner.end_conversation(user_id, "satisfied")
            return ENDED_REPLY if ended else NOTHING_TO_END
        except Exception:
            log.exception("/trip %s failed", word)
            return "Sorry, that did not work. Please try again in a moment."

    # -- the work -------------------------------------------------------------------------------

    async def _bot_answered_in_thread(self, team: str, channel: str, thread_ts: str, user: str) -> bool:
        # The marker is written through `remember_answer` when the bot answers in a thread.
        # An answer being worked on there counts too: its marker is written only once it is posted, and
        # the user may reply under the answer before that (or under the placeholder).
        if self._threads_answering.get((team, channel, thread_ts, user)):
            return True
        return await self.runner.conversation_of(thread_key(team, channel, thread_ts, user)) is not None

    async def _accept(
        self, team: str, channel: str, user: str, ts: str, thread_ts: str | None, text: str
    ) -> BoltResponse | bool:
        """Store the message (before Bolt acknowledges it), then answer it in a task. True when it was
        new, False for one already stored, a 500 response when it could not be stored."""
        key = message_key(team, channel, ts)
        reply_to: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts, "team": team}
        if channel.startswith("D"):
            # The core's `recent_places` groups messages by `channel_id`: set for DMs, the places
            # `catch_up` reads (channel mentions are not caught up, so they need not be listed).
            reply_to["channel_id"] = channel
        try:
            accepted = await self.runner.accept(session_user_id(team, channel, user), text, message_id=key, reply_to=reply_to)
        except Exception:
            log.exception("Could not store Slack message %s; refusing it so Slack delivers it again", key)
            return BoltResponse(status=500, body="")
        if accepted is None:
            log.info("Slack message %s was already taken; not answering again", key)
            return False
        task = self._spawn(self._answer_in_thread(accepted, team, channel, user, ts, thread_ts), f"slack-answer-{key}")
        # `answer` gives the user's queue place back, but a task cancelled before it starts (at the end
        # of a shutdown) never runs it; releasing twice is harmless.
        task.add_done_callback(lambda _task: accepted.ticket.release())
        return True

    async def _answer_in_thread(
        self, accepted: AcceptedMessage, team: str, channel: str, user: str, ts: str, thread_ts: str | None
    ) -> None:
        """`_answer`, noting meanwhile that the bot is answering `user` in this thread."""
        if thread_ts is None or channel.startswith("D"):
            await self._answer(accepted, team, channel, user, ts, thread_ts)
            return
        place = (team, channel, thread_ts, user)
        self._threads_answering[place] = self._threads_answering.get(place, 0) + 1
        try:
            await self._answer(accepted, team, channel, user, ts, thread_ts)
        finally:
            self._threads_answering[place] -= 1
            if not self._threads_answering[place]:
                del self._threads_answering[place]

    async def _answer(
        self, accepted: AcceptedMessage, team: str, channel: str, user: str, ts: str, thread_ts: str | None
    ) -> None:
        user_id, key = accepted.user_id, accepted.message_id
        placeholder: str | None = None

        async def show_working() -> None:
            # The message is stored and new: a Slack retry, or the same message arriving as `message`
            # and `app_mention`, never shows a second placeholder.
            nonlocal placeholder
            placeholder = await self.poster.post(channel, thread_ts, PLACEHOLDER, PostTag(key, PLACEHOLDER_PART, ts))

        try:
            reply = await self.runner.answer(accepted, on_accepted=show_working)
        except Exception:
            # The core turns model failures into an apology itself; this is storage being down. Say so
            # rather than leaving "Planning…" up forever.
            log.exception("Could not answer Slack message %s", key)
            # Shown in the placeholder's place and tagged as one: the message is still unanswered, and
            # when the recovery sweep answers it, it turns this apology into the answer.
            if placeholder is None or not await self.poster.update(channel, placeholder, APOLOGY):
                await self.poster.post(channel, thread_ts, APOLOGY, PostTag(key, PLACEHOLDER_PART, ts))
            return
        if reply.duplicate:
            # A recovery sweep answered it while we waited our turn. Its delivery finds our placeholder
            # by its metadata and turns it into the answer, so it is left alone here: deleting it could
            # delete the answer.
            log.info("Slack message %s was already taken; not answering again", key)
            return
        async with self.runner.delivering(user_id):  # a quick 👍 waits for `_remember`
            existing = {PLACEHOLDER_PART: placeholder} if placeholder else {}
            posted, complete = await self._deliver(channel, thread_ts, reply.text, key, ts, existing)
            if complete:
                # Unmarked, the core's recovery sweep posts what is missing later (e.g. Slack was down).
                await self.runner.mark_delivered(key)
            await self._remember(team, channel, user, thread_ts, reply.conversation_id, posted)

    async def _remember(
        self, team: str, channel: str, user: str, thread_ts: str | None, conversation_id: str | None, posted: list[str]
    ) -> None:
        """Store which messages carry the answer (for reactions) and that the bot is in the thread."""
        if conversation_id is None or not posted:
            return
        user_id = session_user_id(team, channel, user)
        for answer_ts in posted:
            await self.runner.remember_answer(
                user_id=user_id, conversation_id=conversation_id, message_ref=message_key(team, channel, answer_ts)
            )
        if thread_ts is not None and not channel.startswith("D"):
            await self.runner.remember_answer(
                user_id=user_id, conversation_id=conversation_id, message_ref=thread_key(team, channel, thread_ts, user)
            )

    async def redeliver(self, record: InboundRecord, reply: Reply) -> None:
        """Post an answer the core recovered (the process died, or Slack failed, before it was posted).

        What did reach Slack is looked up first and kept: a placeholder left behind becomes the
        answer, and parts already posted are not posted again.
        """
        where = record.reply_to or {}
        channel, team = where.get("channel"), where.get("team")
        user = record.user_id.rsplit(":", 1)[-1]
        if not channel or not team:
            log.warning("Message %s has no stored Slack destination; its answer cannot be posted", record.message_id)
            return
        thread_ts = where.get("thread_ts")
        since = ts_of_key(record.message_id)
        try:
            existing = await self.poster.find(channel, thread_ts, record.message_id, since_ts=since)
        except PlaceGone as gone:
            raise Undeliverable(str(gone)) from None
        if existing is None:
            raise RuntimeError(f"Could not read {channel} to see what reached Slack of the answer to {record.message_id}")
        posted, complete = await self._deliver(channel, thread_ts, reply.text, record.message_id, since, existing)
        await self._remember(team, channel, user, thread_ts, reply.conversation_id, posted)
        if not complete:
            raise RuntimeError(f"Slack did not take all of the answer to {record.message_id}")

    # -- catch-up: DMs sent while no process took events ------------------------------------------

    def _start_catch_up(self, started_at: float) -> None:
        """One catch-up pass in the background, tracked like an answer: `stop` pauses it and drain
        waits for it (bounded). Its errors are logged; live events never wait for it."""
        self._catch_up = self._spawn(self._run_catch_up(started_at), "slack-catch-up")

    async def _run_catch_up(self, started_at: float) -> None:
        try:
            await self.catch_up(received_before=started_at)
        except Exception:
            log.exception("Catching up on missed Slack DMs failed; live events are unaffected")
        finally:
            self.catch_up_passes += 1

    async def catch_up(self, *, received_before: float | None = None) -> int:
        """Answer DMs sent while the app took no events; returns how many messages were taken.

        Slack retries an event it could not deliver for a few minutes only, so after a longer outage
        (or a long deploy) a DM would never be answered. For each DM with a stored message within
        `catch_up_window_s`, the history after that message is read and every message goes through
        `_take_message` exactly like a live `message` event: the same filters (bots, our own posts,
        subtypes), the core's durable dedupe (a message already stored is a no-op, so several
        processes starting at once answer it once), the same placeholder and answer.
        `received_before` (when this process started) leaves out messages received live since then,
        so a new message cannot become a DM's starting point and hide older missed ones.

        Limitations: only DMs are caught up. A mention in a channel, and a follow-up in a thread,
        would mean reading every channel's history and every thread's replies (costly, and
        conversations.history/replies are tightly rate-limited), so those rely on Slack's retries.
        Replies in a thread inside a DM are not in the DM's history either. A person's very first DM
        sent during the outage cannot be found: nothing is stored for that DM yet.
        """
        places = await self.runner.recent_places(
            platform="slack", since_s=self.catch_up_window_s, limit=self.catch_up_places, received_before=received_before
        )
        dms = [p for p in places if str((p.reply_to or {}).get("channel_id") or "").startswith("D")]
        taken = 0
        for record in dms:
            if not self._accepting:
                break
            taken += await self._catch_up_dm(record)
        if taken:
            log.info("Caught up on %d missed Slack message(s) in %d DM(s) checked", taken, len(dms))
        return taken

    async def _catch_up_dm(self, record: InboundRecord) -> int:
        """Pass one DM's messages after `record` (its last stored one) to `_take_message`, oldest
        first; a DM that cannot be read is logged and skipped."""
        where = record.reply_to or {}
        channel, team = str(where.get("channel_id") or ""), str(where.get("team") or "")
        oldest = ts_of_key(record.message_id)
        start = _ts_value(oldest)
        if not channel or not team or start is None:
            log.debug("Message %s has no usable Slack place; not caught up", record.message_id)
            return 0
        try:
            # `oldest` is exclusive: the stored message itself is not listed. Metadata names the
            # message each of our posts answers (see `find`).
            result = await self.client.conversations_history(
                channel=channel, oldest=oldest, limit=self.catch_up_messages, include_all_metadata=True
            )
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            error = err.response.get("error") if isinstance(err, SlackApiError) and err.response is not None else err
            log.warning("Could not read DM %s to catch up (%s); skipping it", channel, error or type(err).__name__)
            return 0
        messages = [m for m in result.get("messages") or [] if (_ts_value(m.get("ts")) or start) > start]
        if result.get("has_more"):
            # Slack lists the newest first: the older ones are out of reach of one bounded read.
            log.warning(
                "DM %s has more than %d messages since the last one stored; only the newest %d are looked at",
                channel, self.catch_up_messages, len(messages),
            )
        # Notes ("new trip", files) are not stored, so the core cannot dedupe them; our post naming
        # the message shows it was handled.
        noted = {
            str(((m.get("metadata") or {}).get("event_payload") or {}).get("message_key"))
            for m in messages
            if self.poster.is_ours(m) and (m.get("metadata") or {}).get("event_type") == POST_EVENT_TYPE
        }
        context = {"team_id": team, "bot_user_id": self.bot_user_id}
        taken = 0
        for message in sorted(messages, key=lambda m: _ts_value(m.get("ts")) or start):
            if message_key(team, channel, str(message.get("ts"))) in noted:
                continue
            # History lists messages without the event's place; a thread's parent carries its own ts
            # as thread_ts, which its live event did not (it was a top-level message then).
            event = dict(message, channel=channel, channel_type="im")
            if event.get("thread_ts") == event.get("ts"):
                del event["thread_ts"]
            outcome = await self._take_message(event, {}, context)
            if isinstance(outcome, BoltResponse):  # stopping, or storage failed: the next start goes on
                log.warning("Stopped catching up DM %s (%s); the rest waits for the next start", channel, outcome.status)
                break
            taken += outcome
        return taken

    async def _restart(self, team: str, channel: str, user: str, thread_ts: str | None, tag: PostTag) -> None:
        await self.runner.new_conversation(session_user_id(team, channel, user))
        await self.poster.post(channel, thread_ts, NEW_TRIP_REPLY, tag)

    async def _react(self, team: str, channel: str, user: str, ts: str, emoji: str) -> None:
        answer = message_key(team, channel, ts)
        outcome = await self.runner.react(
            Reaction(user_id=session_user_id(team, channel, user), message_ref=answer, emoji=emoji)
        )
        if outcome == "ignored":
            return
        thread_ts = await self._thread_of(channel, ts)
        text = SATISFIED_REPLY if outcome == "satisfied" else UNSATISFIED_REPLY
        await self.poster.post(channel, thread_ts, text, PostTag(answer, f"{outcome}:{user}", ts))

    async def _thread_of(self, channel: str, ts: str) -> str | None:
        """The thread an answer of ours sits in, so the confirmation lands beside it.

        Known in memory for answers posted by this process; after a restart Slack is asked.
        """
        if ts in self._answer_threads:
            return self._answer_threads[ts]
        try:
            result = await self.client.conversations_replies(channel=channel, ts=ts, limit=1)
            messages = result.get("messages") or []
            for message in messages:
                if message.get("ts") == ts:
                    return message.get("thread_ts")
        except (SlackApiError, aiohttp.ClientError, ValueError) as err:  # the confirmation still goes out, unthreaded
            log.warning("Could not look up the thread of %s in %s: %s", ts, channel, err)
        return None

    async def _deliver(
        self, channel: str, thread_ts: str | None, text: str, key: str, since: str, existing: dict[str, str]
    ) -> tuple[list[str], bool]:
        """Turn the placeholder into the first part of the answer and post the rest after it.

        `existing` maps parts already on Slack to their ts (the placeholder, or parts a crashed or
        failed delivery got out); those are kept, not posted again. Returns the messages that carry
        the answer, and whether all of it is on Slack.
        """
        chunks = render(text)
        posted: list[str] = []
        first = existing.get("0")
        placeholder = existing.get(PLACEHOLDER_PART)
        if first is None and placeholder is not None:
            if await self.poster.update(channel, placeholder, chunks[0]):
                first = placeholder
            else:
                await self.poster.delete(channel, placeholder)
        if first is None:
            first = await self.poster.post(channel, thread_ts, chunks[0], PostTag(key, "0", since))
        complete = first is not None
        if first is not None:
            posted.append(first)
            for part, chunk in enumerate(chunks[1:], start=1):
                ts = existing.get(str(part)) or await self.poster.post(channel, thread_ts, chunk, PostTag(key, str(part), since))
                if ts is None:  # the rest waits for the recovery sweep, so the parts stay in order
                    complete = False
                    break
                posted.append(ts)
        for answer_ts in posted:
            self._answer_threads[answer_ts] = thread_ts
        while len(self._answer_threads) > 10_000:
            self._answer_threads.popitem(last=False)
        return posted, complete

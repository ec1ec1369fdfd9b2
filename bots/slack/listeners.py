"""Bolt listeners: which Slack events are a person's new message, reaction or command.

Translation only. A listener turns an event into the core's `Inbound` (who, what, where the answer
goes, which thread the bot follows from now on) and hands it to `runner.take`, which stores it
before Bolt acknowledges the event (`process_before_response=True`): an acknowledged message is
never lost, and one that could not be stored is refused with a 500, so Slack delivers it again.
While shutting down, events get 503 for the same reason.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from bots.slack.channel import SlackChannel
from bots.slack.feedback import SlackFeedback
from bots.slack.home import SlackHome
from bots.slack.identity import message_key, person_patterns, place_key, session_user_id, team_of, thread_key
from bots.slack.posting import PostTag
from trip_planner.core import replies
from trip_planner.core.channel import Inbound
from trip_planner.core.deadline import DEFAULT_DEADLINE_S, reply_within
from trip_planner.core.inflight import InFlight
from trip_planner.core.messages import Reaction, ReactionOutcome
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

COMMAND_HELP = replies.command_help("/trip new", "/trip end", "/trip forget")
FORGET_CONFIRM_WORDS = "forget confirm"
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_ALLOWED_SUBTYPES = {None, "thread_broadcast", "file_share"}


def _refused(status: int) -> BoltResponse:
    """Unacknowledged, Slack delivers the event again (to another worker, or to this app later)."""
    return BoltResponse(status=status, body="")


class SlackListeners:
    def __init__(
        self, app: AsyncApp, runner: TripPlannerRunner, channel: SlackChannel, inflight: InFlight, *, agent_view: bool = False
    ) -> None:
        self.runner, self.channel, self.inflight = runner, channel, inflight
        self.agent_view = agent_view  # top-level DM messages are thread roots (`SlackConfig.agent_view`)
        self.bot_user_id: str | None = None
        channel.translate = self.message_inbound
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_app_mention)
        app.event("app_home_opened")(self._on_app_home_opened)
        app.event("reaction_added")(self._on_reaction_added)
        app.command("/trip")(self._on_trip_command)
        SlackFeedback(app, self)  # before the catch-all below: Bolt runs the first matching listener
        self.home = SlackHome(app, runner, channel.client, inflight)
        channel.after_answer = self.home.answered  # the Home shows the trip as it is now
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

    def _is_from_a_bot(self, event: dict[str, Any], bot_user: str | None) -> bool:
        bot_user = bot_user or self.bot_user_id
        return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message") or (
            bot_user is not None and event.get("user") == bot_user
        )

    # -- messages -------------------------------------------------------------------------------

    def message_inbound(self, event: dict[str, Any], team: str, bot_user: str | None = None) -> Inbound | None:
        """A `message` event (live, or read back from a DM's history) as an inbound message; None
        when it is not a person's new message (bots, our own posts, edits, deletions, joins…).
        Outside DMs it is a candidate only: a thread follow-up counts if the bot follows the thread."""
        if self._is_from_a_bot(event, bot_user):
            return None
        subtype = event.get("subtype")
        if subtype not in _ALLOWED_SUBTYPES or not event.get("user") or not event.get("ts"):
            return None
        channel, user, ts = event["channel"], event["user"], event["ts"]
        thread_ts: str | None = event.get("thread_ts")
        dm = event.get("channel_type") == "im"
        if not dm and not thread_ts:
            return None  # a channel message that is not for us (mentions come as app_mention)
        if dm and self.agent_view and not thread_ts:
            thread_ts = ts  # agent view: a top-level message starts a thread, and the answer goes in it
        return Inbound(
            message_id=message_key(team, channel, ts),
            user_id=session_user_id(team, channel, user),
            text=_MENTION.sub("", event.get("text") or "").strip(),
            place=place_key(team, channel) if dm else None,
            reply_to={"channel": channel, "thread_ts": thread_ts, "team": team},
            attachments=subtype == "file_share",
        )

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        """DMs, and follow-ups in a channel thread the bot follows for this person."""
        inbound = self.message_inbound(event, team_of(context, body), context.get("bot_user_id"))
        if inbound is None:
            return None
        if not self.inflight.accepting:
            return _refused(503)
        if event.get("channel_type") != "im":
            where = inbound.reply_to
            follows = thread_key(where["team"], where["channel"], str(where["thread_ts"]), event["user"])
            if not await self.runner.follows(follows):
                return None
        return await self._take(inbound)

    async def _on_app_mention(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        """A mention in a channel: answer in the mention's thread (or start one under it), and follow
        that thread for this person from now on."""
        if self._is_from_a_bot(event, context.get("bot_user_id")):
            return None
        if event.get("subtype") not in _ALLOWED_SUBTYPES or not event.get("user") or not event.get("ts"):
            return None
        if not self.inflight.accepting:
            return _refused(503)
        team, channel, user, ts = team_of(context, body), event["channel"], event["user"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        text = _MENTION.sub("", event.get("text") or "").strip()
        inbound = Inbound(
            message_id=message_key(team, channel, ts),
            user_id=session_user_id(team, channel, user),
            text=text,
            follows=thread_key(team, channel, thread_ts, user),
            reply_to={"channel": channel, "thread_ts": thread_ts, "team": team},
            attachments=event.get("subtype") == "file_share" or bool(event.get("files") and not text),
        )
        return await self._take(inbound)

    async def _take(self, inbound: Inbound) -> BoltResponse | None:
        try:
            await self.runner.take(inbound, self.channel, self.inflight)
        except Exception:
            log.exception("Could not store Slack message %s; refusing it so Slack delivers it again", inbound.message_id)
            return _refused(500)
        return None

    # -- the app's Messages and Home tabs -------------------------------------------------------------------

    async def _on_app_home_opened(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> None:
        """The person opened the app's Messages tab (offer a few ways to start: suggested prompts)
        or its Home tab (publish their Home). Both from tracked tasks: the event is acknowledged at once."""
        channel, user = event.get("channel"), event.get("user")
        if not channel or not user or not self.inflight.accepting:
            return
        if event.get("tab") == "home":
            self.home.opened(team_of(context, body), str(channel), str(user))
        elif event.get("tab") == "messages":
            self.inflight.spawn(self._suggest_prompts(str(channel)), f"slack-prompts-{channel}")

    async def _suggest_prompts(self, channel: str) -> None:
        prompts = [{"title": title, "message": message} for title, message in replies.SUGGESTED_PROMPTS]
        try:
            await self.channel.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, title=replies.SUGGESTED_PROMPTS_TITLE, prompts=prompts
            )
        except Exception as err:  # a missing nicety, never a failure
            log.info("Could not set suggested prompts in %s (%s)", channel, type(err).__name__)

    # -- reactions ------------------------------------------------------------------------------

    async def _on_reaction_added(self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not event.get("user"):
            return None
        bot_user = context.get("bot_user_id") or self.bot_user_id
        if event["user"] == bot_user or (event.get("item_user") and event.get("item_user") != bot_user):
            return None  # only a person's reaction on one of the bot's own messages can mean anything
        if not self.inflight.accepting:
            return _refused(503)
        team = team_of(context, body)
        self.inflight.spawn(
            self.feedback(team, item["channel"], event["user"], item["ts"], event.get("reaction") or ""),
            f"slack-reaction-{item['channel']}-{item['ts']}",
        )
        return None

    async def feedback(
        self, team: str, channel: str, user: str, ts: str, emoji: str, *, button: bool = False, thread: str | None | bool = False
    ) -> ReactionOutcome:
        """A reaction or feedback button on answer `ts`, through the core; the confirmation goes beside
        the answer (`thread`: the answer's thread when the caller knows it, False when not)."""
        answer = message_key(team, channel, ts)
        reaction = Reaction(user_id=session_user_id(team, channel, user), message_ref=answer, emoji=emoji)
        outcome = await self.runner.react(reaction, button=button)
        if outcome not in ("satisfied", "unsatisfied"):
            return outcome
        thread_ts = await self._thread_of(channel, ts) if thread is False else thread if isinstance(thread, str) else None
        text = replies.SATISFIED if outcome == "satisfied" else replies.UNSATISFIED
        await self.channel.poster.post(channel, thread_ts, text, PostTag(answer, f"{outcome}:{user}", ts))
        return outcome

    async def _thread_of(self, channel: str, ts: str) -> str | None:
        """The thread an answer of ours sits in, so the confirmation lands beside it: known for
        answers this process posted, else Slack is asked."""
        known = self.channel.thread_of(ts)
        if known is not False:
            return known if isinstance(known, str) else None
        try:
            result = await self.channel.client.conversations_replies(channel=channel, ts=ts, limit=1)
            for message in result.get("messages") or []:
                if message.get("ts") == ts:
                    thread: str | None = message.get("thread_ts")
                    return thread
        except Exception as err:  # the confirmation still goes out, unthreaded
            log.warning("Could not look up the thread of %s in %s: %s", ts, channel, type(err).__name__)
        return None

    # -- /trip ----------------------------------------------------------------------------------

    async def _on_trip_command(
        self, ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """`/trip new` and `/trip end`, answered privately: in the acknowledgement when quick, else
        "one moment" now and the result via `respond` (Slack wants the ack within 3 s)."""
        word = " ".join((command.get("text") or "").lower().split())
        if word == "forget":
            await ack(text=replies.forget_confirm(f"/trip {FORGET_CONFIRM_WORDS}"))
            return
        if word not in ("new", "end", FORGET_CONFIRM_WORDS):
            await ack(text=COMMAND_HELP)
            return
        team = team_of(context, body)
        user_id = session_user_id(team, command["channel_id"], command["user_id"])
        work = (
            self.runner.forget(person_patterns(team, command["user_id"]))
            if word == FORGET_CONFIRM_WORDS
            else self.runner.command(user_id, word)
        )

        async def follow_up(text: str) -> None:
            await respond(text=text, response_type="ephemeral")

        await reply_within(
            work,
            deadline_s=DEFAULT_DEADLINE_S,
            reply=lambda text: ack(text=text),
            defer=lambda: ack(text=replies.COMMAND_WAIT),
            follow_up=follow_up,
            inflight=self.inflight,
        )

"""One turn: a stored message answered under its person's lock, exactly once and in order.

Part of `TripPlannerRunner` (a base class of it, for the size of one module): the runner builds the
parts a turn uses (the session manager, workers and locks, the ADK runner) and feeds it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from google.adk.agents.run_config import RunConfig
from google.adk.runners import Runner
from google.genai import types

from trip_planner.config import Settings
from trip_planner.core import replies
from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.delivery import Deliveries
from trip_planner.core.limits import Limits, trips_started_recently
from trip_planner.core.locks import ConversationLocks, Ticket
from trip_planner.core.log_context import bind_conversation, turn_context
from trip_planner.core.messages import Reply, ReplyStatus, clean_text
from trip_planner.core.metrics import Metrics
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import STREAM_KEY, InboundRecord
from trip_planner.core.store_records import ATTACHMENTS_KEY
from trip_planner.core.tracing import Tracer
from trip_planner.core.trip_card import ESTIMATE_KEY, TRIP_KEY, TripCard, current_trip_card
from trip_planner.core.workers import Workers

log = logging.getLogger(__name__)

# Told of each tool the agent calls, with the model's arguments: (tool name, args).
ActivityHook = Callable[[str, Mapping[str, Any]], None]
# Told of the answer's text so far while a streaming model writes it (whole, not a delta).
TextHook = Callable[[str], None]

_PUNCT = re.compile(r"[^\w\s]")


def inbound_of(record: InboundRecord) -> Inbound:
    """A stored message as the core hands it to adapters (never the store's row type)."""
    reply_to = dict(record.reply_to or {})
    stream = reply_to.pop(STREAM_KEY, None)
    attachments = bool(reply_to.pop(ATTACHMENTS_KEY, False))
    return Inbound(
        message_id=record.message_id,
        user_id=record.user_id,
        text=record.text,
        place=record.place,
        reply_to=reply_to,
        stream=str(stream) if stream else None,
        attachments=attachments,
    )


class GrowingText:
    """The answer so far from ADK's partial events (each carries only its new words): every
    response the model streams, one after the other; a response that ends in a tool call stays on
    screen until the final text replaces the whole stream."""

    def __init__(self, on_text: TextHook) -> None:
        self.on_text = on_text
        self.done = ""  # responses finished before the current one
        self.current = ""

    def add(self, event: Any) -> None:
        if not event.partial:
            if self.current:
                self.done, self.current = f"{self.done}{self.current}\n\n", ""
            return
        words = "".join(p.text for p in (event.content.parts if event.content else None) or [] if p.text and not p.thought)
        if not words:
            return
        self.current += words
        try:
            self.on_text(self.done + self.current)
        except Exception:  # showing the words early must never cost the answer
            log.exception("Could not show the answer as it grows")


def is_restart(text: str) -> bool:
    """"new trip" or "start over" said on its own starts a new trip, on every platform."""
    return _PUNCT.sub("", text).strip().lower() in replies.RESTART_WORDS


class Turns:
    """The turn pipeline; the attributes below are set by `TripPlannerRunner.__init__`."""

    settings: Settings
    sessions: SessionManager
    tracer: Tracer
    workers: Workers
    locks: ConversationLocks
    deliveries: Deliveries
    metrics: Metrics
    limits: Limits
    adk_runner: Runner
    _turn_slots: asyncio.Semaphore
    _patience_s: float
    _run_config: RunConfig
    _stream_config: RunConfig

    def _rejection(self, inbound: Inbound, clean: str) -> str | None:
        if inbound.attachments:
            return replies.FILES_NOTE
        if not clean:
            return replies.EMPTY_PROMPT
        if len(clean) > self.settings.max_message_chars:
            return replies.too_long(self.settings.max_message_chars)
        return None

    async def turn(
        self,
        inbound: Inbound,
        ticket: Ticket | None = None,
        *,
        channel: Channel | None = None,
        on_start: Callable[[], Awaitable[None]] | None = None,
        on_activity: ActivityHook | None = None,
        on_text: TextHook | None = None,
    ) -> Reply:
        """Answer one stored message under the person's lock, exactly once. `on_activity` hears of
        each tool the agent calls (for a status line that says what is happening); with `on_text`
        the model is asked to stream (ADK's SSE mode) and the hook hears the answer as it grows.

        Across workers a person's messages are answered in the order they were received: under the
        lock, an earlier unanswered message held by another live worker goes first (the lease is
        given back until it is answered, at most `_patience_s`), and one left by a worker that
        stopped is answered here first (and posted, with a `channel`).
        """
        user_id, message_id = inbound.user_id, inbound.message_id
        clean = clean_text(inbound.text)
        rejection = self._rejection(inbound, clean)
        if rejection is not None:
            return await self._finish(message_id, Reply(text=rejection, status="rejected"))
        loop = asyncio.get_running_loop()
        give_up_waiting_at = loop.time() + self._patience_s
        state: dict[str, Any] = {}

        async def ready() -> bool:
            """Called with the person's lease held: answer, in order, each earlier unanswered
            message that is ours (or a stopped worker's, adopted now); stop at one a live worker
            holds, and wait for it (the lease is given back meanwhile), so the next check resumes
            after it. Past `_patience_s` the held ones are left to their workers."""
            mine, earlier = await self.workers.pending_of(user_id=user_id, message_id=message_id)
            state["mine"] = mine
            if mine is None or mine.status != "received":
                return True  # answered meanwhile: nothing to wait for
            for record, held in earlier:
                if held:
                    if loop.time() > give_up_waiting_at:
                        continue
                    return False
                if record.worker_id != self.workers.worker_id and not await self.workers.adopt(message_id=record.message_id):
                    return False  # another worker took it just now: it goes first
                await self._answer_earlier(record, channel)
            return True

        async with self.locks.hold(user_id, ticket, ready=ready):
            # Under the lock, so a recovery sweep and the live worker never both answer it.
            seen: InboundRecord | None = state["mine"]
            if seen is None:
                # Erased (`forget`) while it waited for its turn: answering it would store it again.
                log.info("Message %s was erased before its turn; not answering it", message_id)
                return Reply(text="", status="duplicate")
            if seen.status != "received":
                return Reply(text=seen.answer or "", status="duplicate", conversation_id=seen.conversation_id)
            if is_restart(clean):
                return await self._finish(message_id, await self._restart(user_id))
            if on_start is not None:
                await on_start()
            async with self._turn_slots:
                return await self._run_turn(inbound, clean, on_activity, on_text)

    async def _restart(self, user_id: str) -> Reply:
        """A new trip (under the person's lock), unless they started too many lately."""
        if await trips_started_recently(self.sessions.store, user_id=user_id) >= self.limits.new_trips_per_hour:
            return Reply(replies.TOO_MANY_TRIPS, "refused")
        await self.sessions.create_new_session(user_id)
        current = await self.sessions.current_conversation(user_id)
        return Reply(replies.NEW_TRIP, "answered", current.conversation_id if current else None)

    async def _answer_earlier(self, record: InboundRecord, channel: Channel | None) -> None:
        """An earlier message of the same person that a stopped worker left: answered first."""
        log.info("Answering message %s first: it came earlier and its worker stopped", record.message_id)
        earlier = inbound_of(record)
        with turn_context(earlier):
            clean = clean_text(earlier.text)
            rejection = self._rejection(earlier, clean)
            if rejection is not None:
                reply = await self._finish(record.message_id, Reply(text=rejection, status="rejected"))
            elif is_restart(clean):
                reply = await self._finish(record.message_id, await self._restart(record.user_id))
            else:
                reply = await self._run_turn(earlier, clean)
            if channel is not None:
                await self.deliveries.deliver(channel, earlier, reply, recovering=True)

    async def _run_turn(
        self, inbound: Inbound, clean: str, on_activity: ActivityHook | None = None, on_text: TextHook | None = None
    ) -> Reply:
        user_id, message_id = inbound.user_id, inbound.message_id
        started = time.monotonic()
        record = await self.sessions.conversation_for_turn(user_id)
        conversation_id = record.conversation_id
        bind_conversation(conversation_id)
        status: ReplyStatus = "answered"
        trip_changed = False
        with self.tracer.turn(
            user_id=user_id,
            session_id=record.session_id,
            conversation_id=conversation_id,
            query=clean,
            query_num=record.query_count + 1,
        ) as turn:
            try:
                async with asyncio.timeout(self.settings.turn_timeout_s):
                    answer, trip_changed = await self._run(user_id, record.session_id, clean, on_activity, on_text)
            except TimeoutError:
                log.error("Turn timed out after %.1fs in conversation %s", self.settings.turn_timeout_s, conversation_id)
                answer, status = replies.TIMEOUT_APOLOGY, "failed"
            except Exception:
                log.exception("Turn failed in conversation %s", conversation_id)
                answer, status = replies.APOLOGY, "failed"
            turn.answer = answer
        query_num = await self.sessions.add_query_to_conversation(
            user_id,
            clean,
            answer,
            conversation_id=conversation_id,
            message_id=message_id,
            status=status,
            trace_id=turn.trace_id,
        )
        self.metrics.turn(message_id, status, seconds=time.monotonic() - started)
        card = await self._card(user_id) if trip_changed and status == "answered" else None
        return Reply(text=answer, status=status, conversation_id=conversation_id, query_num=query_num, card=card)

    async def _card(self, user_id: str) -> TripCard | None:
        """The trip's card after a turn that changed it; a card is a nicety, so a failure to read it
        costs only the card."""
        try:
            return await current_trip_card(self.sessions, user_id)
        except Exception:
            log.exception("Could not read the trip's card; the answer goes without it")
            return None

    async def _run(
        self,
        user_id: str,
        session_id: str,
        text: str,
        on_activity: ActivityHook | None = None,
        on_text: TextHook | None = None,
    ) -> tuple[str, bool]:
        """The turn's answer, and whether it changed the trip's facts (then the answer shows its card;
        small talk and questions about a settled trip do not repeat it)."""
        message = types.Content(role="user", parts=[types.Part(text=text)])
        final: list[str] = []
        trip_changed = False
        growing = GrowingText(on_text) if on_text is not None else None
        async for event in self.adk_runner.run_async(
            user_id=user_id,
            session_id=session_id,
            new_message=message,
            run_config=self._stream_config if growing is not None else self._run_config,
        ):
            if event.error_code:
                raise RuntimeError(f"model error {event.error_code}: {event.error_message}")
            if growing is not None:
                growing.add(event)
                if event.partial:
                    continue  # its words come again, whole, in the event that ends the response
            if on_activity is not None:
                for call in event.get_function_calls():
                    try:
                        on_activity(call.name or "", call.args or {})
                    except Exception:  # a status line must never cost the answer
                        log.exception("Could not show what the planner is doing")
            delta = event.actions.state_delta if event.actions else None
            if delta and (TRIP_KEY in delta or ESTIMATE_KEY in delta):
                trip_changed = True
            if event.is_final_response() and event.content and event.content.parts:
                final = [p.text for p in event.content.parts if p.text and not p.thought]
        answer = "\n".join(final).strip()
        if not answer:
            raise RuntimeError("the agent finished without an answer")
        return answer, trip_changed

    async def _finish(self, message_id: str, reply: Reply) -> Reply:
        await self.sessions.store.finish_inbound(
            message_id=message_id,
            status=reply.status if reply.status in ("failed", "refused") else "answered",
            answer=reply.text,
            conversation_id=reply.conversation_id,
        )
        self.metrics.turn(message_id, reply.status)
        return reply

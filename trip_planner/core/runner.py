"""TripPlannerRunner: the one entry every adapter feeds.

The order of the pipeline is the point: dedupe and persist the inbound message before any model work
(a retry gets no second answer, a crash loses no message), then take the conversation's lock (one turn
at a time per user id, in arrival order), then run ADK and record the result.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from google.adk.agents import BaseAgent
from google.adk.agents.run_config import RunConfig, ToolThreadPoolConfig
from google.adk.apps import App
from google.adk.plugins.context_filter_plugin import ContextFilterPlugin
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from trip_planner.agents import warm_up
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core import replies, retention
from trip_planner.core.erasure import find_user_ids, forget_locked
from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.delivery import Deliveries
from trip_planner.core.inflight import InFlight
from trip_planner.core.limits import Limits, check_message, trips_started_recently
from trip_planner.core.locks import ConversationLocks, Ticket
from trip_planner.core.log_context import bind_conversation, turn_context
from trip_planner.core.metrics import Metrics
from trip_planner.core.recovery import SWEEP_EVERY_S, Recovery
from trip_planner.core.messages import Reaction, ReactionOutcome, Reply, ReplyStatus, clean_text
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import InboundRecord
from trip_planner.core.tracing import Tracer, build_tracer
from trip_planner.core.workers import Workers
from trip_planner.models import build_model

log = logging.getLogger(__name__)

# Dedupe must outlive the platforms' retry windows (Slack retries for about 5 minutes); a week also
# leaves the inbound log long enough to investigate a complaint.
INBOUND_RETENTION_S = 7 * 86400

# How long a reaction waits for the same user's answer to finish posting (see DeliveryGate).
DELIVERY_WAIT_S = 15.0

THUMBS_UP = {"+1", "thumbsup", "👍"}
THUMBS_DOWN = {"-1", "thumbsdown", "👎"}
_PUNCT = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class AcceptedMessage:
    """An inbound message stored by `TripPlannerRunner.accept`, holding its place in the user's queue."""

    inbound: Inbound
    ticket: Ticket

    @property
    def user_id(self) -> str:
        return self.inbound.user_id

    @property
    def message_id(self) -> str:
        return self.inbound.message_id


def inbound_of(record: InboundRecord) -> Inbound:
    """A stored message as the core hands it to adapters (never the store's row type)."""
    return Inbound(
        message_id=record.message_id,
        user_id=record.user_id,
        text=record.text,
        place=record.place,
        reply_to=record.reply_to or {},
    )


def is_restart(text: str) -> bool:
    """"new trip" or "start over" said on its own starts a new trip, on every platform."""
    return _PUNCT.sub("", text).strip().lower() in replies.RESTART_WORDS


def reaction_kind(emoji: str) -> str | None:
    """Normalise platform emoji names: '+1::skin-tone-3' and '👍🏽' are both a thumbs-up."""
    base = emoji.split("::", 1)[0].strip(":")
    base = "".join(ch for ch in base if not 0x1F3FB <= ord(ch) <= 0x1F3FF)  # skin tone modifiers
    if base in THUMBS_UP:
        return "satisfied"
    if base in THUMBS_DOWN:
        return "unsatisfied"
    return None


class TripPlannerRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        session_manager: SessionManager | None = None,
        agent: BaseAgent | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = session_manager or SessionManager(
            settings.database_url,
            app_name=settings.app_name,
            idle_timeout_s=settings.conversation_idle_timeout_s,
            recent_events=settings.recent_events,
            tracer=tracer or build_tracer(settings),
            auto_migrate=settings.auto_migrate,
        )
        self.tracer = self.sessions.tracer
        # A lease outlives the longest turn (its deadline plus the writes after it) by a margin.
        self.workers = Workers(self.sessions.store, name=settings.worker_name)
        self.locks = ConversationLocks(self.workers, lease_s=settings.turn_timeout_s + 60.0)
        self.deliveries = Deliveries(self.sessions.store)
        self.recovery = Recovery(self)
        self.metrics = Metrics(queued=self.locks.queued, breaker=lambda: getattr(self.tracer, "breaker_state", None))
        self.limits = Limits(
            max_waiting=settings.max_waiting_per_person,
            per_minute=settings.messages_per_minute,
            new_trips_per_hour=settings.new_trips_per_hour,
            max_turns=settings.max_concurrent_turns,
        )
        self._turn_slots = asyncio.Semaphore(self.limits.max_turns)
        # How long a turn waits for another worker to answer the same person's earlier message.
        self._patience_s = settings.turn_timeout_s + 15.0
        root = agent or build_concierge(build_model(settings))
        self.tracer.instrument_agent(root)
        app = App(
            name=settings.app_name,
            root_agent=root,
            plugins=[ContextFilterPlugin(num_invocations_to_keep=settings.model_context_invocations)],
        )
        # auto_create_session: a conversation claimed by a process that died before ADK stored its
        # session still runs; the registry, not ADK, decides which session is current.
        self.adk_runner = Runner(app=app, session_service=self.sessions.get_session_service(), auto_create_session=True)
        self._pruned_at = time.monotonic()
        # Synchronous tools (place lookups, holiday calendars loaded on first use) run on ADK's tool
        # thread pool, not on the event loop, where they would stall every other conversation.
        self._run_config = RunConfig(
            max_llm_calls=25,
            get_session_config=GetSessionConfig(num_recent_events=settings.recent_events),
            tool_thread_pool_config=ToolThreadPoolConfig(max_workers=4),
        )
        self._retention: asyncio.Task[None] | None = None  # the daily purge (see core/retention.py)

    async def start(self) -> None:
        await self.sessions.start()
        await self.workers.register()
        self._retention = retention.start(self.workers, self.sessions.engine, self.settings)
        await self._prune_inbound()
        await asyncio.to_thread(warm_up)

    async def _prune_inbound(self) -> None:
        """Forget answered messages past the retention; cheap, so done at start and hourly."""
        self._pruned_at = time.monotonic()
        removed = await self.sessions.store.prune_inbound(older_than_s=INBOUND_RETENTION_S)
        if removed:
            log.info("Pruned %d answered messages older than %d days", removed, INBOUND_RETENTION_S // 86400)

    async def unanswered_messages(self, *, older_than_s: float = 0.0) -> list[InboundRecord]:
        """Messages persisted but never answered (the process died mid-turn). `recover` answers and
        posts them; this is the read-only view, for operators and tests."""
        return await self.sessions.store.unanswered_inbound(older_than_s=older_than_s)

    async def recent_places(
        self, *, platform: str, since_s: float, limit: int = 100, received_before: float | None = None
    ) -> list[Inbound]:
        """The last stored message of each place on `platform` within `since_s`, newest place
        first: where catch-up looks for messages no process received."""
        records = await self.sessions.store.latest_inbound_per_place(
            prefix=f"{platform}:", since_s=since_s, limit=limit, received_before=received_before
        )
        return [inbound_of(r) for r in records]

    async def close(self) -> None:
        await retention.stop(self._retention)
        await self.workers.leave()  # what is left unfinished goes to the other workers now
        await asyncio.to_thread(self.tracer.flush, 2.0)
        await self.adk_runner.close()
        await self.sessions.close()

    # -- the pipeline ---------------------------------------------------------------------------

    async def ask(
        self,
        user_id: str,
        text: str,
        *,
        message_id: str | None = None,
        reply_to: dict[str, Any] | None = None,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """Answer one message exactly once and return the answer without posting it anywhere (for
        callers that show it themselves: benchmarks, tests, scripts). Adapters use `take`/`handle`.

        `on_accepted` runs once the message is stored and known to be new, before any model work.
        """
        inbound = Inbound(message_id=message_id or f"local:{uuid.uuid4().hex}", user_id=user_id, text=text, reply_to=reply_to or {})
        accepted = await self.accept(inbound)
        if accepted is None:
            return await self._duplicate(inbound.message_id)
        return await self.answer(accepted, on_accepted=on_accepted)

    async def handle(self, inbound: Inbound, channel: Channel) -> Reply:
        """Accept, answer and deliver one message, awaiting all of it (the console's path)."""
        accepted = await self.accept(inbound)
        if accepted is None:
            return await self._duplicate(inbound.message_id)
        return await self.answer(accepted, channel)

    async def take(self, inbound: Inbound, channel: Channel, inflight: InFlight) -> bool:
        """Store the message now and answer it in a tracked task: what adapters call from a listener
        that must acknowledge the platform quickly. True when it was new, False for a duplicate;
        raises when it could not be stored (the adapter refuses the delivery, so it comes again)."""
        accepted = await self.accept(inbound)
        if accepted is None:
            return False
        # `answer` gives the queue place back, but a task cancelled before it starts (at the end of a
        # shutdown) never runs it; releasing twice is harmless.
        inflight.spawn(self.answer(accepted, channel), f"answer-{inbound.message_id}", on_done=accepted.ticket.release)
        return True

    async def accept(self, inbound: Inbound) -> AcceptedMessage | None:
        """Store the inbound message and take its place in the user's queue; None for a duplicate.

        Quick (one insert), so an adapter can call it before it acknowledges the platform's delivery:
        once acknowledged, a message is never lost, because it is stored. Raises if storage fails,
        so the adapter can refuse the delivery and let the platform retry. Pass the result to
        `answer`, which releases the queue place.
        """
        # Take a place in the user's queue before any await, so turns run in arrival order.
        ticket = self.locks.reserve(inbound.user_id)
        try:
            claimed = await self.sessions.store.claim_inbound(
                message_id=inbound.message_id,
                user_id=inbound.user_id,
                text=inbound.text,
                reply_to=inbound.reply_to,
                place=inbound.place,
                worker_id=self.workers.worker_id,
            )
            if claimed and inbound.follows is not None:
                await self.sessions.store.subscribe(place=inbound.follows, user_id=inbound.user_id)
        except BaseException:
            ticket.release()
            raise
        with turn_context(inbound):  # these lines carry the message's ids in JSON logs too
            if not claimed:
                ticket.release()
                self.metrics.turn(inbound.message_id, "duplicate")
                log.info("Duplicate message %s ignored", inbound.message_id)
                return None
            log.info("Stored message %s", inbound.message_id)
        return AcceptedMessage(inbound=inbound, ticket=ticket)

    async def answer(
        self,
        accepted: AcceptedMessage,
        channel: Channel | None = None,
        *,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """`_answer`, with the message's ids on every log line logged meanwhile (see `log_context`)."""
        with turn_context(accepted.inbound):
            return await self._answer(accepted, channel, on_accepted=on_accepted)

    async def _answer(
        self,
        accepted: AcceptedMessage,
        channel: Channel | None = None,
        *,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """Run the turn for an accepted message and, with a `channel`, deliver the answer through
        the one delivery routine. Progress is shown when the person's turn starts (not while the
        message waits behind their earlier ones). Releases the queue place."""
        inbound = accepted.inbound
        shown: list[Any] = []

        async def start_progress() -> None:
            if channel is not None:
                shown.append(await self._show_progress(channel, inbound))

        try:
            if time.monotonic() - self._pruned_at > 3600:
                await self._prune_inbound()
            if on_accepted is not None:
                try:
                    await on_accepted()
                except Exception:
                    log.exception("The on_accepted hook failed for message %s; answering anyway", inbound.message_id)
            try:
                refusal = await check_message(self.sessions.store, self.limits, user_id=inbound.user_id, message_id=inbound.message_id)
                if refusal is not None:
                    log.info("Message %s refused: over a per-person limit", inbound.message_id)
                    reply = await self._finish(inbound.message_id, Reply(text=refusal.text, status="refused"))
                    if not refusal.say_it:
                        await self.mark_delivered(inbound.message_id)
                        return reply
                else:
                    reply = await self.turn(inbound, accepted.ticket, channel=channel, on_start=start_progress)
            except Exception:
                if channel is None:
                    raise
                # The core turns model failures into an apology itself; this is storage being down.
                # Said in the progress indicator's place: the message is still unanswered, and the
                # recovery sweep's answer replaces it.
                log.exception("Could not answer message %s", inbound.message_id)
                self.metrics.turn(inbound.message_id, "failed")
                await self._note(channel, inbound, replies.APOLOGY, shown[0] if shown else None)
                return Reply(text=replies.APOLOGY, status="failed")
        finally:
            accepted.ticket.release()
        if channel is None:
            return reply
        if reply.duplicate:
            # A recovery sweep answered it while we waited our turn, and posts it; a placeholder of ours
            # is left for it to turn into the answer.
            log.info("Message %s was answered meanwhile; not answering again", inbound.message_id)
            return reply
        await self.deliveries.deliver(channel, inbound, reply, progress=shown[0] if shown else None)
        return reply

    @staticmethod
    async def _show_progress(channel: Channel, inbound: Inbound) -> Any:
        try:
            return await channel.show_progress(inbound)
        except Exception:
            log.exception("Could not show progress for message %s; answering anyway", inbound.message_id)
            return None

    @staticmethod
    async def _note(channel: Channel, inbound: Inbound, text: str, progress: Any) -> None:
        try:
            await channel.note(inbound, text, progress=progress)
        except Exception:
            log.exception("Could not post a note for message %s", inbound.message_id)

    async def _duplicate(self, message_id: str) -> Reply:
        seen = await self.sessions.store.get_inbound(message_id=message_id)
        return Reply(
            text=(seen.answer or "") if seen else "",
            status="duplicate",
            conversation_id=seen.conversation_id if seen else None,
        )

    def posting(self, user_id: str) -> AbstractAsyncContextManager[None]:
        """Post an answer, and record its messages, inside this; a reaction by the same user waits
        for it, so a quick thumbs-up on a fresh answer is not ignored (see `PostingGate`)."""
        return self.deliveries.gate.posting(user_id)

    async def mark_delivered(self, message_id: str) -> None:
        """Until an answer is marked delivered, the recovery sweep considers its message undelivered."""
        await self.sessions.store.mark_delivered(message_id=message_id)

    async def follows(self, place: str) -> bool:
        """Whether the bot follows `place` (a thread it was asked in), see `Inbound.follows`."""
        return await self.sessions.store.is_subscribed(place=place)

    # -- recovery ------------------------------------------------------------------------------

    async def recover(self, channel: Channel, *, force: bool = False) -> int:
        """One recovery sweep for `channel`'s platform (see `recovery`); returns answers delivered."""
        return await self.recovery.sweep(channel, force=force)

    async def run_recovery(self, channel: Channel, *, every_s: float = SWEEP_EVERY_S) -> None:
        """Sweep at once and then every `every_s` until cancelled (an adapter's background task)."""
        await self.recovery.run(channel, every_s=every_s)

    # -- one turn ------------------------------------------------------------------------------

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
    ) -> Reply:
        """Answer one stored message under the person's lock, exactly once.

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
                return await self._run_turn(inbound, clean)

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

    async def _run_turn(self, inbound: Inbound, clean: str) -> Reply:
        user_id, message_id = inbound.user_id, inbound.message_id
        started = time.monotonic()
        record = await self.sessions.conversation_for_turn(user_id)
        conversation_id = record.conversation_id
        bind_conversation(conversation_id)
        status: ReplyStatus = "answered"
        with self.tracer.turn(
            user_id=user_id,
            session_id=record.session_id,
            conversation_id=conversation_id,
            query=clean,
            query_num=record.query_count + 1,
        ) as turn:
            try:
                async with asyncio.timeout(self.settings.turn_timeout_s):
                    answer = await self._run(user_id, record.session_id, clean)
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
        return Reply(text=answer, status=status, conversation_id=conversation_id, query_num=query_num)

    async def _run(self, user_id: str, session_id: str, text: str) -> str:
        message = types.Content(role="user", parts=[types.Part(text=text)])
        final: list[str] = []
        async for event in self.adk_runner.run_async(
            user_id=user_id, session_id=session_id, new_message=message, run_config=self._run_config
        ):
            if event.error_code:
                raise RuntimeError(f"model error {event.error_code}: {event.error_message}")
            if event.is_final_response() and event.content and event.content.parts:
                final = [p.text for p in event.content.parts if p.text and not p.thought]
        answer = "\n".join(final).strip()
        if not answer:
            raise RuntimeError("the agent finished without an answer")
        return answer

    async def _finish(self, message_id: str, reply: Reply) -> Reply:
        await self.sessions.store.finish_inbound(
            message_id=message_id,
            status=reply.status if reply.status in ("failed", "refused") else "answered",
            answer=reply.text,
            conversation_id=reply.conversation_id,
        )
        self.metrics.turn(message_id, reply.status)
        return reply

    # -- conversation control -------------------------------------------------------------------

    async def end_conversation(self, user_id: str, feedback: str | None = "satisfied") -> bool:
        async with self.locks.hold(user_id):
            return await self.sessions.end_conversation(user_id, feedback) is not None

    async def new_conversation(self, user_id: str) -> str:
        async with self.locks.hold(user_id):
            await self.sessions.create_new_session(user_id)
            record = await self.sessions.current_conversation(user_id)
            assert record is not None
            return record.conversation_id

    async def command(self, user_id: str, word: str) -> str:
        """A trip command from any platform ("new" or "end"), answered with the words to show."""
        if word == "new":
            async with self.locks.hold(user_id):
                return (await self._restart(user_id)).text
        ended = await self.end_conversation(user_id, "satisfied")
        return replies.SATISFIED if ended else replies.NOTHING_TO_END

    async def forget(self, patterns: list[str]) -> str:
        """Erase a person ("forget me"): every session user id matching their platform identity's
        `patterns`, ours and ADK's rows in one transaction under their locks, then their Opik threads.
        Returns the words to confirm it."""
        engine, app_name = self.sessions.engine, self.settings.app_name
        user_ids = await find_user_ids(engine, patterns, app_name=app_name)
        erased = await forget_locked(self.locks, engine, user_ids, app_name=app_name)
        traces_erased = await self.tracer.delete_threads(list(erased.conversation_ids))
        log.info("Erased a person on request: %d ids, %d conversations", len(erased.user_ids), len(erased.conversation_ids))
        if not traces_erased:
            log.warning("Erased conversations still in Opik: %s", ", ".join(erased.conversation_ids))
            return replies.FORGOTTEN_TRACES_LEFT
        return replies.FORGOTTEN

    async def remember_answer(self, *, user_id: str, conversation_id: str, message_ref: str) -> None:
        """Adapters call this with each platform message that carries an answer, for reactions."""
        await self.sessions.store.remember_message(
            message_ref=message_ref, conversation_id=conversation_id, user_id=user_id
        )

    async def conversation_of(self, message_ref: str, *, user_id: str | None = None) -> str | None:
        """The conversation a remembered platform message belongs to (None when unknown).

        With `user_id`, answers that user is being sent in this process are recorded first: a person
        can react to (or reply under) an answer before the adapter has stored its message id.
        """
        if user_id is not None and not await self.deliveries.gate.settled(user_id, timeout_s=DELIVERY_WAIT_S):
            log.warning("An answer to %s is still being posted; looking up %s without it", user_id, message_ref)
        return await self.sessions.store.conversation_for_message(message_ref=message_ref)

    async def react(self, reaction: Reaction, *, button: bool = False) -> ReactionOutcome:
        """A thumbs-up ends the conversation as satisfied; a thumbs-down records it and keeps it open.

        Only the conversation's own user, on one of the bot's answers in the current conversation.
        Feedback buttons (`button=True`) take the same path, and two more rules, because a click is
        not a toggle the platform keeps like an emoji: a stranger's click is "not_owner" (the adapter
        tells them, privately), and the same button clicked again on the same answer is "ignored".
        """
        kind = reaction_kind(reaction.emoji)
        if kind is None:
            return "ignored"
        if button:
            owner = await self._owner(reaction)
            if owner is None:
                return "ignored"
            if owner != reaction.user_id:
                return "not_owner"
        conversation_id = await self.conversation_of(reaction.message_ref, user_id=reaction.user_id)
        if conversation_id is None:
            return "ignored"
        async with self.locks.hold(reaction.user_id):
            current = await self.sessions.current_conversation(reaction.user_id)
            if current is None or current.conversation_id != conversation_id:
                return "ignored"
            if button and not await self.sessions.store.claim_feedback(
                message_ref=reaction.message_ref, kind=kind, conversation_id=conversation_id, user_id=reaction.user_id
            ):
                return "ignored"
            if kind == "satisfied":
                await self.sessions.end_conversation(reaction.user_id, "satisfied")
                self.metrics.feedback_given(reaction.user_id, "satisfied")
                return "satisfied"
            await self.sessions.record_feedback(conversation_id, "unsatisfied")
            self.metrics.feedback_given(reaction.user_id, "unsatisfied")
            return "unsatisfied"

    async def _owner(self, reaction: Reaction) -> str | None:
        """The session user id whose conversation the reacted-to answer belongs to (None: unknown)."""
        if not await self.deliveries.gate.settled(reaction.user_id, timeout_s=DELIVERY_WAIT_S):
            log.warning("An answer is still being posted; looking up %s without it", reaction.message_ref)
        found = await self.sessions.store.owner_of_message(message_ref=reaction.message_ref)
        return found[1] if found is not None else None

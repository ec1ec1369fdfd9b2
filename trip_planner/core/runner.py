"""TripPlannerRunner: the one entry every adapter feeds.

The order of the pipeline is the point: dedupe and persist the inbound message before any model work
(a retry gets no second answer, a crash loses no message), then take the conversation's lock (one turn
at a time per user id, in arrival order), then run ADK and record the result.

This module holds the pipeline up to the turn and the process's parts; the turn itself is in
`turns.py` and commands, erasure and feedback in `conversation_control.py` (base classes of the
runner, so adapters keep one object to call).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from google.adk.agents import BaseAgent

from trip_planner.agents import warm_up
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core import replies, retention
from trip_planner.core.answer_stream import AnswerStream
from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.delivery import Deliveries
from trip_planner.core.adk_imports import prepare_adk_imports
from trip_planner.core.adk_setup import build_adk_runner, turn_run_configs
from trip_planner.core.interpreter import freeze_what_start_up_made, share_the_gil_quickly
from trip_planner.core.inflight import InFlight
from trip_planner.core.limits import Limits, check_message
from trip_planner.core.locks import ConversationLocks, Ticket
from trip_planner.core.log_context import turn_context
from trip_planner.core.loop_pressure import LoopPressure
from trip_planner.core.metrics import Metrics
from trip_planner.core.recovery import SWEEP_EVERY_S, Recovery
from trip_planner.core.messages import Reply
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import InboundRecord
from trip_planner.core.store_records import ATTACHMENTS_KEY, NEW_INBOUND_CHANNEL
from trip_planner.core.tracing import Tracer, build_tracer
from trip_planner.core.turns import inbound_of
from trip_planner.core.urgent_pool import urgent
from trip_planner.core.workers import Workers
from trip_planner.core.conversation_control import ConversationControl
from trip_planner.models import build_model

log = logging.getLogger(__name__)

# Dedupe must outlive the platforms' retry windows (Slack retries for about 5 minutes); a week also
# leaves the inbound log long enough to investigate a complaint.
INBOUND_RETENTION_S = 7 * 86400


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


class TripPlannerRunner(ConversationControl):
    def __init__(
        self,
        settings: Settings,
        *,
        session_manager: SessionManager | None = None,
        agent: BaseAgent | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        share_the_gil_quickly()
        prepare_adk_imports()
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
        if not settings.answers_here:  # `answer` processes hear of each stored message at once
            self.sessions.store.inbound_writes.announce = NEW_INBOUND_CHANNEL
        self.pressure = LoopPressure()
        self.metrics = Metrics(
            queued=self.locks.queued,
            breaker=lambda: getattr(self.tracer, "breaker_state", None),
            held=lambda: self.pressure.held,
        )
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
        self.adk_runner = build_adk_runner(settings, root, self.sessions.get_session_service())
        self._pruned_at = time.monotonic()
        self._run_config, self._stream_config = turn_run_configs(settings)
        self._retention: asyncio.Task[None] | None = None  # the daily purge (see core/retention.py)

    async def start(self) -> None:
        await self.sessions.start()
        await self.workers.register()
        self._retention = retention.start(self.workers, self.sessions.engine, self.settings)
        await self._prune_inbound()
        await asyncio.to_thread(warm_up)
        freeze_what_start_up_made()

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
        self.answer_later(accepted, channel, inflight)
        return True

    def answer_later(self, accepted: AcceptedMessage, channel: Channel, inflight: InFlight) -> asyncio.Task[Reply] | None:
        """Answer an accepted message in a tracked task (returned), or, in a `receive` process, leave
        it to the `answer` processes (stored unheld, they take it: see `dispatch`)."""
        if not self.settings.answers_here:
            accepted.ticket.release()
            return None
        # `answer` gives the queue place back, but a task cancelled before it starts (at the end of a
        # shutdown) never runs it; releasing twice is harmless.
        return inflight.spawn(self.answer(accepted, channel), f"answer-{accepted.message_id}", on_done=accepted.ticket.release)

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
                reply_to={**inbound.reply_to, ATTACHMENTS_KEY: True} if inbound.attachments else inbound.reply_to,
                place=inbound.place,
                # Unheld in a `receive` process: any `answer` process (or sweep) may take it at once.
                worker_id=self.workers.worker_id if self.settings.answers_here else None,
            )
            if claimed and inbound.follows is not None:
                with urgent():
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
        streams: list[AnswerStream] = []
        streaming = channel is not None and channel.streams and self.settings.stream_answers

        async def start_progress() -> None:
            if channel is not None:
                shown.append(await self._show_progress(channel, inbound))
                if streaming:
                    streams.append(AnswerStream(channel, inbound, shown[0], remember=remember_stream))

        async def remember_stream(ref: str) -> None:
            await self.sessions.store.note_stream(message_id=inbound.message_id, stream=ref)

        def activity(tool: str, args: Mapping[str, Any]) -> None:
            if channel is not None and shown and shown[0] is not None:
                channel.show_activity(inbound, shown[0], tool, args)
            title = replies.activity_step(tool, args) if streams else None
            if title:
                streams[0].step(title)

        def grown(text: str) -> None:
            if streams:
                streams[0].feed(text)

        try:
            if time.monotonic() - self._pruned_at > 3600:
                await self._prune_inbound()
            if on_accepted is not None:
                try:
                    await on_accepted()
                except Exception:
                    log.exception("The on_accepted hook failed for message %s; answering anyway", inbound.message_id)
            await self.pressure.calm()
            try:
                refusal = await check_message(self.sessions.store, self.limits, user_id=inbound.user_id, message_id=inbound.message_id)
                if refusal is not None:
                    log.info("Message %s refused: over a per-person limit", inbound.message_id)
                    reply = await self._finish(inbound.message_id, Reply(text=refusal.text, status="refused"))
                    if not refusal.say_it:
                        await self.mark_delivered(inbound.message_id)
                        return reply
                else:
                    reply = await self.turn(
                        inbound, accepted.ticket, channel=channel, on_start=start_progress, on_activity=activity,
                        on_text=grown if streaming else None,
                    )
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
            stream = await streams[0].finish() if streams else None
        if channel is None:
            return reply
        if reply.duplicate:
            # A recovery sweep answered it while we waited our turn, and posts it; a placeholder of ours
            # is left for it to turn into the answer.
            log.info("Message %s was answered meanwhile; not answering again", inbound.message_id)
            return reply
        await self.deliveries.deliver(channel, inbound, reply, progress=shown[0] if shown else None, stream=stream)
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
        with urgent():  # on an acknowledgement's path, like storing the message
            return await self.sessions.store.is_subscribed(place=place)

    # -- recovery ------------------------------------------------------------------------------

    async def recover(self, channel: Channel, *, force: bool = False) -> int:
        """One recovery sweep for `channel`'s platform (see `recovery`); returns answers delivered."""
        return await self.recovery.sweep(channel, force=force)

    async def run_recovery(self, channel: Channel, *, every_s: float = SWEEP_EVERY_S) -> None:
        """Sweep at once and then every `every_s` until cancelled (an adapter's background task)."""
        await self.recovery.run(channel, every_s=every_s)

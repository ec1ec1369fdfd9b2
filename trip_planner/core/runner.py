"""TripPlannerRunner: the one entry every adapter feeds.

The order of the pipeline is the point: dedupe and persist the inbound message before any model work
(a retry gets no second answer, a crash loses no message), then take the conversation's lock (one turn
at a time per user id, in arrival order), then run ADK and record the result.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from google.adk.agents import BaseAgent
from google.adk.agents.run_config import RunConfig
from google.adk.apps import App
from google.adk.plugins.context_filter_plugin import ContextFilterPlugin
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.locks import ConversationLocks, Ticket
from trip_planner.core.messages import (
    APOLOGY,
    EMPTY_PROMPT,
    TIMEOUT_APOLOGY,
    Reaction,
    ReactionOutcome,
    Reply,
    ReplyStatus,
    clean_text,
    too_long_message,
)
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.store import InboundRecord
from trip_planner.core.tracing import Tracer, build_tracer
from trip_planner.models import build_model

log = logging.getLogger(__name__)

# Dedupe must outlive the platforms' retry windows (Slack retries for about 5 minutes); a week also
# leaves the inbound log long enough to investigate a complaint.
INBOUND_RETENTION_S = 7 * 86400

THUMBS_UP = {"+1", "thumbsup", "👍"}
THUMBS_DOWN = {"-1", "thumbsdown", "👎"}
SATISFIED_REPLY = "Glad I could help! I've closed this trip. Send a new message any time to plan another."
UNSATISFIED_REPLY = "Thanks for telling me. What should I change? Tell me and I'll rework the plan."


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
        )
        self.tracer = self.sessions.tracer
        self.locks = ConversationLocks(self.sessions.engine)
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
        self._run_config = RunConfig(
            max_llm_calls=25, get_session_config=GetSessionConfig(num_recent_events=settings.recent_events)
        )

    async def start(self) -> None:
        await self.sessions.start()
        await self._prune_inbound()

    async def _prune_inbound(self) -> None:
        """Forget answered messages past the retention; cheap, so done at start and hourly."""
        self._pruned_at = time.monotonic()
        removed = await self.sessions.store.prune_inbound(older_than_s=INBOUND_RETENTION_S)
        if removed:
            log.info("Pruned %d answered messages older than %d days", removed, INBOUND_RETENTION_S // 86400)

    async def unanswered_messages(self, *, older_than_s: float = 0.0) -> list[InboundRecord]:
        """Messages persisted but never answered (the process died mid-turn); adapters may re-answer
        them with `answer_pending` using the `reply_to` they stored."""
        return await self.sessions.store.unanswered_inbound(older_than_s=older_than_s)

    async def close(self) -> None:
        await asyncio.to_thread(self.tracer.flush, 2.0)
        await self.adk_runner.close()
        await self.sessions.close()

    # -- the pipeline ---------------------------------------------------------------------------

    async def ask(
        self, user_id: str, text: str, *, message_id: str | None = None, reply_to: dict[str, Any] | None = None
    ) -> Reply:
        """Answer one inbound message exactly once.

        `message_id` is the platform's identity of the message (unique across platforms, e.g.
        "slack:T1:C1:1700000000.000100"); `reply_to` is the adapter's note of where the answer goes,
        stored with the message so an unanswered one can be answered after a restart.
        """
        message_id = message_id or f"local:{uuid.uuid4().hex}"
        if time.monotonic() - self._pruned_at > 3600:
            await self._prune_inbound()
        # Take a place in the user's queue before any await, so turns run in arrival order.
        ticket = self.locks.reserve(user_id)
        try:
            if not await self.sessions.store.claim_inbound(
                message_id=message_id, user_id=user_id, text=text, reply_to=reply_to
            ):
                log.info("Duplicate message %s for user '%s' ignored", message_id, user_id)
                seen = await self.sessions.store.get_inbound(message_id=message_id)
                return Reply(
                    text=(seen.answer or "") if seen else "",
                    status="duplicate",
                    conversation_id=seen.conversation_id if seen else None,
                )
            return await self._answer(user_id, text, message_id, ticket)
        finally:
            ticket.release()

    async def answer_pending(self, message_id: str) -> Reply | None:
        """Answer a message that was persisted but never answered (the process died mid-turn)."""
        record = await self.sessions.store.get_inbound(message_id=message_id)
        if record is None or record.status != "received":
            return None
        return await self._answer(record.user_id, record.text, message_id)

    async def _answer(self, user_id: str, text: str, message_id: str, ticket: Ticket | None = None) -> Reply:
        clean = clean_text(text)
        rejection = None
        if not clean:
            rejection = EMPTY_PROMPT
        elif len(clean) > self.settings.max_message_chars:
            rejection = too_long_message(self.settings.max_message_chars)
        if rejection is not None:
            return await self._finish(message_id, Reply(text=rejection, status="rejected"))
        async with self.locks.hold(user_id, ticket):
            record = await self.sessions.conversation_for_turn(user_id)
            conversation_id = record.conversation_id
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
                    answer, status = TIMEOUT_APOLOGY, "failed"
                except Exception:
                    log.exception("Turn failed in conversation %s", conversation_id)
                    answer, status = APOLOGY, "failed"
                turn.answer = answer
            query_num = await self.sessions.store.finish_turn(
                message_id=message_id, status=status, query=clean, answer=answer, conversation_id=conversation_id
            )
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
            status="failed" if reply.status == "failed" else "answered",
            answer=reply.text,
            conversation_id=reply.conversation_id,
        )
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

    async def remember_answer(self, *, user_id: str, conversation_id: str, message_ref: str) -> None:
        """Adapters call this with each platform message that carries an answer, for reactions."""
        await self.sessions.store.remember_message(
            message_ref=message_ref, conversation_id=conversation_id, user_id=user_id
        )

    async def conversation_of(self, message_ref: str) -> str | None:
        """The conversation a remembered platform message belongs to (None when unknown)."""
        return await self.sessions.store.conversation_for_message(message_ref=message_ref)

    async def has_seen(self, message_id: str) -> bool:
        """Whether any process has already taken this message. A hint for adapters that show
        something before answering (a placeholder); `ask` stays the atomic claim."""
        return await self.sessions.store.get_inbound(message_id=message_id) is not None

    async def react(self, reaction: Reaction) -> ReactionOutcome:
        """A thumbs-up ends the conversation as satisfied; a thumbs-down records it and keeps it open.

        Only the conversation's own user, on one of the bot's answers in the current conversation.
        """
        kind = reaction_kind(reaction.emoji)
        if kind is None:
            return "ignored"
        conversation_id = await self.conversation_of(reaction.message_ref)
        if conversation_id is None:
            return "ignored"
        async with self.locks.hold(reaction.user_id):
            current = await self.sessions.current_conversation(reaction.user_id)
            if current is None or current.conversation_id != conversation_id:
                return "ignored"
            if kind == "satisfied":
                await self.sessions.end_conversation(reaction.user_id, "satisfied")
                return "satisfied"
            await self.sessions.record_feedback(conversation_id, "unsatisfied")
            return "unsatisfied"

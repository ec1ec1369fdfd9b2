"""SessionManager: the seed's API and meaning, made durable and race-free.

The seed kept sessions, conversation ids, queries and traces in per-user dicts: a restart lost every
conversation, two first messages racing each created a session, and the dicts only grew. Here ADK's
`DatabaseSessionService` (as `SessionService`, its leaner-per-turn subclass in session_service.py)
holds the sessions and `ConversationStore` holds the rest on the same database, so any process on
that database continues any conversation. One active conversation per user id is enforced by a
unique index; an in-process keyed lock only saves the losers a round trip.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.sessions import DatabaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig
from sqlalchemy.ext.asyncio import AsyncEngine

from trip_planner.config import APP_NAME
from trip_planner.core.database import create_engine
from trip_planner.core.locks import KeyedLock
from trip_planner.core.migrate import prepare_schema
from trip_planner.core.schema_lock import schema_lock
from trip_planner.core.session_service import SessionService
from trip_planner.core.store import ConversationRecord, ConversationStore
from trip_planner.core.tracing import NullTracer, Tracer

log = logging.getLogger(__name__)


def satisfaction_score(feedback: str) -> float:
    """`user_satisfaction` as the tracing backend records it: 1.0 satisfied, 0.0 anything else."""
    return 1.0 if feedback == "satisfied" else 0.0


def new_conversation_id() -> str:
    return f"conv_{uuid.uuid4().hex[:12]}"


class SessionManager:
    def __init__(
        self,
        database_url: str | None = None,
        *,
        app_name: str = APP_NAME,
        engine: AsyncEngine | None = None,
        idle_timeout_s: float = 24 * 3600.0,
        recent_events: int = 60,
        tracer: Tracer | None = None,
        auto_migrate: bool = True,
    ) -> None:
        if (database_url is None) == (engine is None):
            raise ValueError("give exactly one of database_url or engine")
        self.engine = engine if engine is not None else create_engine(database_url or "")
        self.app_name = app_name
        self.idle_timeout_s = idle_timeout_s
        self.tracer: Tracer = tracer or NullTracer()
        self.auto_migrate = auto_migrate
        self.store = ConversationStore(self.engine)
        self.session_service = SessionService(db_engine=self.engine)
        self._session_config = GetSessionConfig(num_recent_events=recent_events)
        self._registry_locks = KeyedLock()

    async def start(self) -> None:
        """Create the tables now rather than on the first message, one process at a time: ADK's by
        ADK, ours by our migrations (created at head, or an older schema upgraded; see migrate.py)."""
        async with schema_lock(self.engine):
            await self.session_service.prepare_tables()
            await prepare_schema(self.engine, auto_migrate=self.auto_migrate)
            await self.store.prepare()

    async def close(self) -> None:
        await self.engine.dispose()

    def get_session_service(self) -> DatabaseSessionService:
        """The service the ADK Runner needs; it shares this manager's database."""
        return self.session_service

    # -- sessions -------------------------------------------------------------------------------

    async def get_or_create_session(self, user_id: str) -> Session:
        _record, session = await self._conversation(user_id, load=True)
        assert session is not None
        return session

    async def conversation_for_turn(self, user_id: str) -> ConversationRecord:
        """`get_or_create_session` for the runner: the same conversation, started the same way, but
        returned as its registry record without reading the session's events (the ADK runner reads
        them itself, and reading them twice per turn is the largest avoidable cost of a turn).
        `get_or_create_session` and `get_conversation_id` are built on it."""
        record, _session = await self._conversation(user_id, load=False)
        return record

    async def create_new_session(self, user_id: str) -> Session:
        """Start over: the previous conversation ends with reason `new_session`."""
        async with self._registry_locks.hold(user_id):
            record = await self.store.active_conversation(user_id=user_id)
            if record is not None:
                await self._end(record, reason="new_session", feedback=None)
            _record, session = await self._start_conversation(user_id)
            return session

    async def _conversation(self, user_id: str, *, load: bool) -> tuple[ConversationRecord, Session | None]:
        async with self._registry_locks.hold(user_id):
            record = await self._current(user_id)
            if record is None:
                return await self._start_conversation(user_id)
            log.info("Using existing session for user '%s': %s", user_id, record.session_id)
            return record, (await self._load_session(record) if load else None)

    async def current_conversation(self, user_id: str) -> ConversationRecord | None:
        """The active, unexpired conversation of `user_id`, without creating one."""
        async with self._registry_locks.hold(user_id):
            return await self._current(user_id)

    async def get_conversation_id(self, user_id: str) -> str:
        """As in the seed, asking for the id of a user with no conversation starts one."""
        return (await self.conversation_for_turn(user_id)).conversation_id

    async def _current(self, user_id: str) -> ConversationRecord | None:
        record = await self.store.active_conversation(user_id=user_id)
        if record is not None and time.time() - record.updated_at > self.idle_timeout_s:
            log.info("Conversation %s of user '%s' expired after being idle", record.conversation_id, user_id)
            await self._end(record, reason="expired", feedback=None)
            return None
        return record

    async def _start_conversation(self, user_id: str) -> tuple[ConversationRecord, Session]:
        conversation_id = new_conversation_id()
        session_id = uuid.uuid4().hex
        record = await self.store.insert_active_conversation(
            conversation_id=conversation_id, user_id=user_id, session_id=session_id
        )
        if record is None:
            # Another process claimed this user's slot between our read and our insert: use theirs.
            winner = await self.store.active_conversation(user_id=user_id)
            if winner is None:
                raise RuntimeError(f"could not start a conversation for user {user_id!r}")
            return winner, await self._load_session(winner)
        session = await self._create_or_load(record)
        log.info("Created new session for user '%s': %s", user_id, session.id)
        log.info("Conversation ID: %s", conversation_id)
        self.tracer.conversation_started(
            user_id=user_id, session_id=session_id, conversation_id=conversation_id, started_at=record.created_at
        )
        return record, session

    async def _load_session(self, record: ConversationRecord) -> Session:
        session = await self.session_service.get_session(
            app_name=self.app_name, user_id=record.user_id, session_id=record.session_id, config=self._session_config
        )
        if session is None:
            # The slot is claimed but ADK has no session yet: its claimer is about to create it (in
            # another process) or died before it could.
            session = await self._create_or_load(record)
        return session

    async def _create_or_load(self, record: ConversationRecord) -> Session:
        try:
            return await self.session_service.create_session(
                app_name=self.app_name, user_id=record.user_id, session_id=record.session_id
            )
        except AlreadyExistsError:
            session = await self.session_service.get_session(
                app_name=self.app_name, user_id=record.user_id, session_id=record.session_id, config=self._session_config
            )
            assert session is not None
            return session

    # -- queries --------------------------------------------------------------------------------

    async def add_query_to_conversation(
        self,
        user_id: str,
        query: str,
        response: str,
        *,
        conversation_id: str | None = None,
        message_id: str | None = None,
        status: str = "answered",
        trace_id: str | None = None,
    ) -> int:
        """Record a query/answer pair (truncated to 200/500 characters, as in the seed).

        Pass `conversation_id` to record into the conversation the turn ran in, even if the user has
        started another one meanwhile. With `message_id` (the runner's turns), the inbound message is
        marked answered in the same transaction: a crash between the two would either lose the
        record or answer the message twice. Returns the query's number in its conversation.
        """
        if conversation_id is None:
            conversation_id = await self.get_conversation_id(user_id)
        if message_id is not None:
            return await self.store.finish_turn(
                message_id=message_id, status=status, query=query, answer=response,
                conversation_id=conversation_id, trace_id=trace_id,
            )
        return await self.store.add_query(
            conversation_id=conversation_id, query=query, response=response or "No response"
        )

    async def get_query_count(self, user_id: str) -> int:
        record = await self.current_conversation(user_id)
        return record.query_count if record else 0

    async def get_queries(self, user_id: str) -> list[dict[str, Any]]:
        record = await self.current_conversation(user_id)
        if record is None:
            return []
        rows = await self.store.list_queries(conversation_id=record.conversation_id)
        return [{"query": q.query, "response": q.response} for q in rows]

    # -- ending ---------------------------------------------------------------------------------

    async def end_conversation(self, user_id: str, feedback: str | None = None) -> ConversationRecord | None:
        """End the current conversation (the seed's meaning: the user is done, e.g. satisfied).

        Returns the ended record, or None when the user had no active conversation.
        """
        async with self._registry_locks.hold(user_id):
            record = await self.store.active_conversation(user_id=user_id)
            if record is None:
                return None
            ended = await self._end(record, reason=feedback or "ended", feedback=feedback)
        log.info("Conversation ended for user '%s' with feedback: %s", user_id, feedback)
        return ended

    async def record_feedback(self, conversation_id: str, feedback: str) -> None:
        """Feedback that does not end the conversation (e.g. 'unsatisfied')."""
        await self.store.set_feedback(conversation_id=conversation_id, feedback=feedback)
        record = await self.store.get_conversation(conversation_id=conversation_id)
        self.tracer.feedback(
            conversation_id=conversation_id,
            value=satisfaction_score(feedback),
            last_trace_id=record.last_trace_id if record else None,
        )

    async def _end(self, record: ConversationRecord, *, reason: str, feedback: str | None) -> ConversationRecord | None:
        ended = await self.store.end_conversation(
            conversation_id=record.conversation_id, reason=reason, feedback=feedback
        )
        if ended is not None:
            self.tracer.conversation_ended(
                user_id=record.user_id,
                session_id=record.session_id,
                conversation_id=record.conversation_id,
                started_at=record.created_at,
                reason=reason,
                feedback=feedback,
                total_queries=ended.query_count,
            )
            if feedback is not None:
                self.tracer.feedback(
                    conversation_id=record.conversation_id,
                    value=satisfaction_score(feedback),
                    last_trace_id=ended.last_trace_id,
                )
        return ended

    def clear_session(self, user_id: str) -> None:
        """The seed dropped its cached Session object; nothing is cached here, so nothing to drop.

        Kept for API compatibility: the stored conversation is untouched (use end_conversation).
        """
        log.debug("clear_session(%s): no cached session to clear", user_id)

    # -- tracing hooks (seed API) ---------------------------------------------------------------

    async def get_conversation_trace(self, user_id: str) -> Any:
        record = await self.current_conversation(user_id)
        return self.tracer.get_conversation_trace(record.conversation_id) if record else None

    async def create_query_span(self, user_id: str, query: str, query_num: int) -> Any:
        record = await self.current_conversation(user_id)
        return self.tracer.create_query_span(record.conversation_id, query, query_num) if record else None

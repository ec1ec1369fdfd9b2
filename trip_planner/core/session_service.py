"""ADK's `DatabaseSessionService`, with its two per-turn paths written as plain SQL statements.

Every turn reads its session once and appends two or more events. ADK does both through the ORM: a
read is four identity-mapped loads, and an append is five statements (the session row locked, the
app and user state rows read though nothing changes them, the session updated, the event inserted)
plus a unit-of-work flush. Under load that ORM work, on the event loop every turn shares, was the
largest part of what a durable turn cost beyond an in-memory one (bench/bench_concurrency.py, 60
conversations on SQLite: 39.7 ms of CPU a turn, 27.8 ms with this service; in-memory ADK 9–11 ms).

Here, on ADK's current table schema:
- an event that changes no stored state (most of them: the user's message, model text, tool calls)
  is appended with two statements in one transaction: the session's update time is moved forward
  only if it still holds the revision this session object was read at (the same optimistic check
  ADK makes with a locked read), then the event is inserted;
- a session is read with two Core selects (the session with its app and user state, then its
  events) instead of four ORM loads, and the rows are turned into ADK's objects by ADK's own
  conversion code.
Anything else (a state change, a session without a revision marker, an older ADK schema, a revision
that does not match) goes to ADK's own implementation, which also raises its errors (stale session,
missing session) exactly as before. The tables, their schema and their contents are ADK's,
unchanged, so either implementation reads what the other wrote.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

from google.adk.events.event import Event
from google.adk.sessions import DatabaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.database_session_service import _merge_state
from google.adk.sessions.migration import _schema_check_utils
from google.adk.sessions.schemas.v1 import StorageAppState, StorageEvent, StorageSession, StorageUserState
from google.adk.sessions.state import State
from sqlalchemy import BindParameter, Table, bindparam, insert, select, update
from typing_extensions import override

_sessions = cast(Table, StorageSession.__table__)
_events = cast(Table, StorageEvent.__table__)
_app_states = cast(Table, StorageAppState.__table__)
_user_states = cast(Table, StorageUserState.__table__)

# Built once: composing a statement costs more CPU than executing a cached one (SQLAlchemy caches
# the compiled form, not the Python objects a `select(...).where(...)` call builds each time).
_APP: BindParameter[str] = bindparam("of_app")
_USER: BindParameter[str] = bindparam("of_user")
_SESSION: BindParameter[str] = bindparam("of_session")
_MOVE_REVISION = update(_sessions).where(
    _sessions.c.app_name == _APP, _sessions.c.user_id == _USER, _sessions.c.id == _SESSION,
    _sessions.c.update_time == bindparam("revision"),
).values(update_time=bindparam("new_time"))
_INSERT_EVENT = insert(_events)
# The session with the app's and the person's state, in one statement instead of ADK's three.
_SESSION_ROW = select(
    _sessions,
    select(_app_states.c.state).where(_app_states.c.app_name == _APP).scalar_subquery().label("app_state"),
    select(_user_states.c.state).where(_user_states.c.app_name == _APP, _user_states.c.user_id == _USER)
    .scalar_subquery().label("user_state"),
).where(_sessions.c.app_name == _APP, _sessions.c.user_id == _USER, _sessions.c.id == _SESSION)
_EVENTS_NEWEST_FIRST = select(_events).where(
    _events.c.app_name == _APP, _events.c.user_id == _USER, _events.c.session_id == _SESSION
).order_by(_events.c.timestamp.desc(), _events.c.id.desc())


def _stored_delta(event: Event) -> dict[str, Any]:
    """The part of an event's state change that ADK would write to the database (temp: never is)."""
    delta = event.actions.state_delta if event.actions and event.actions.state_delta else {}
    return {key: value for key, value in delta.items() if not key.startswith(State.TEMP_PREFIX)}


def _update_time_of(event: Event) -> datetime:
    """The session's new update time, as ADK stores it (naive UTC on every dialect we run on)."""
    return datetime.fromtimestamp(event.timestamp, timezone.utc).replace(tzinfo=None)


class SessionService(DatabaseSessionService):
    """A drop-in `DatabaseSessionService` (same constructor, tables and errors), cheaper per turn."""

    def _lean(self) -> bool:
        return self._db_schema_version == _schema_check_utils.LATEST_SCHEMA_VERSION

    @override
    async def append_event(self, session: Session, event: Event) -> Event:
        await self.prepare_tables()
        if event.partial:
            return event
        marker = session._storage_update_marker
        if not self._lean() or marker is None or _stored_delta(event):
            return await super().append_event(session, event)
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        new_time = _update_time_of(event)
        of_session = {"of_app": session.app_name, "of_user": session.user_id, "of_session": session.id}
        async with self._with_session_lock(app_name=session.app_name, user_id=session.user_id, session_id=session.id):
            async with self.db_engine.begin() as conn:
                moved = await conn.execute(
                    _MOVE_REVISION, {**of_session, "revision": datetime.fromisoformat(marker), "new_time": new_time}
                )
                if moved.rowcount == 1:
                    await conn.execute(_INSERT_EVENT, {
                        "id": event.id, "invocation_id": event.invocation_id, "session_id": session.id,
                        "app_name": session.app_name, "user_id": session.user_id, "timestamp": new_time,
                        "event_data": event.model_dump(exclude_none=True, mode="json"),
                    })
        if moved.rowcount != 1:
            # Stale, gone, or stored in a form the comparison missed (nothing was written): ADK
            # decides, and raises its own error.
            return await super().append_event(session, event)
        revision = StorageSession(update_time=new_time)
        session.last_update_time = revision.get_update_timestamp()
        session._storage_update_marker = revision.get_update_marker()
        return self._commit_event_to_session(session, event)

    @override
    async def get_session(
        self, *, app_name: str, user_id: str, session_id: str, config: GetSessionConfig | None = None
    ) -> Session | None:
        await self.prepare_tables()
        if not self._lean() or (config is not None and config.after_timestamp):
            return await super().get_session(app_name=app_name, user_id=user_id, session_id=session_id, config=config)
        of_session = {"of_app": app_name, "of_user": user_id, "of_session": session_id}
        async with self.db_engine.connect() as conn:
            row = (await conn.execute(_SESSION_ROW, of_session)).first()
            if row is None:
                return None
            rows: list[Any] = []
            if config is None or config.num_recent_events != 0:
                query = _EVENTS_NEWEST_FIRST
                if config is not None and config.num_recent_events is not None:
                    query = query.limit(config.num_recent_events)
                rows = list(await conn.execute(query, of_session))
        # ADK's own conversions and state merge: they read only the columns, which the rows carry
        # under the same names.
        events = [StorageEvent.to_event(cast(StorageEvent, r)) for r in reversed(rows)]
        stored = StorageSession(app_name=row.app_name, user_id=row.user_id, id=row.id, update_time=row.update_time)
        return stored.to_session(state=_merge_state(row.app_state or {}, row.user_state or {}, row.state or {}), events=events)

"""The lean session service against ADK's own, on the same tables: what one writes the other reads
back unchanged, the common append takes two statements, and every other case (state changes,
stale or missing sessions) behaves exactly as ADK's does, errors included."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions import DatabaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine

from trip_planner.core.database import create_engine
from trip_planner.core.session_service import SessionService

APP = "trip_planner"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def services(engine: AsyncEngine) -> tuple[SessionService, DatabaseSessionService]:
    lean = SessionService(db_engine=engine)
    await lean.prepare_tables()
    adk = DatabaseSessionService(db_engine=engine)
    await adk.prepare_tables()
    return lean, adk


def _said(author: str, text: str, *, delta: dict[str, Any] | None = None, at: float | None = None) -> Event:
    return Event(
        author=author, invocation_id="inv-1", timestamp=at if at is not None else time.time(),
        content=types.Content(role="user" if author == "user" else "model", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta or {}),
    )


def _statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @sa_event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(re.sub(r"\s+", " ", statement).split(" ")[0].upper())

    return seen


def _same(a: Session, b: Session) -> None:
    assert a.model_dump() == b.model_dump()
    assert a.last_update_time == b.last_update_time


async def test_a_plain_event_is_two_statements_and_reads_back_the_same_through_adk(
    services: tuple[SessionService, DatabaseSessionService], engine: AsyncEngine
) -> None:
    lean, adk = services
    session = await lean.create_session(app_name=APP, user_id="u1", session_id="s1")
    seen = _statements(engine)
    await lean.append_event(session, _said("user", "Plan a trip to Lisbon"))
    assert [s for s in seen if s in {"SELECT", "UPDATE", "INSERT"}] == ["UPDATE", "INSERT"]
    await lean.append_event(session, _said("concierge", "When would you like to go?"))

    by_adk = await adk.get_session(app_name=APP, user_id="u1", session_id="s1")
    by_lean = await lean.get_session(app_name=APP, user_id="u1", session_id="s1")
    assert by_adk is not None and by_lean is not None
    _same(by_lean, by_adk)
    assert [e.content.parts[0].text for e in by_lean.events if e.content and e.content.parts] == [
        "Plan a trip to Lisbon", "When would you like to go?"
    ]
    # The in-memory session carries the revision storage now holds: ADK appends after it, not stale.
    assert session._storage_update_marker == by_adk._storage_update_marker
    await adk.append_event(session, _said("user", "In May"))


async def test_state_changes_go_through_adk_and_every_scope_reads_back(
    services: tuple[SessionService, DatabaseSessionService],
) -> None:
    lean, adk = services
    session = await lean.create_session(app_name=APP, user_id="u1", session_id="s1")
    await lean.append_event(session, _said("concierge", "Noted", delta={
        "trip": {"destination": "Lisbon"}, "user:currency": "EUR", "temp:scratch": 1,
    }))
    await lean.append_event(session, _said("user", "thanks"))  # a plain event after a state change
    assert session.state["temp:scratch"] == 1  # in memory for this invocation, as ADK does

    for service in (lean, adk):
        stored = await service.get_session(app_name=APP, user_id="u1", session_id="s1")
        assert stored is not None
        assert stored.state == {"trip": {"destination": "Lisbon"}, "user:currency": "EUR"}
        assert len(stored.events) == 2
    # user: state is the person's, across their sessions.
    other = await lean.create_session(app_name=APP, user_id="u1", session_id="s2")
    assert (await lean.get_session(app_name=APP, user_id="u1", session_id="s2")) is not None
    assert other.state["user:currency"] == "EUR"


async def test_a_stale_session_object_is_refused_as_adk_refuses_it(
    services: tuple[SessionService, DatabaseSessionService],
) -> None:
    lean, adk = services
    await lean.create_session(app_name=APP, user_id="u1", session_id="s1")
    first = await lean.get_session(app_name=APP, user_id="u1", session_id="s1")
    second = await lean.get_session(app_name=APP, user_id="u1", session_id="s1")
    assert first is not None and second is not None
    await lean.append_event(first, _said("user", "one"))
    with pytest.raises(ValueError, match="modified in storage"):
        await lean.append_event(second, _said("user", "two"))
    stored = await adk.get_session(app_name=APP, user_id="u1", session_id="s1")
    assert stored is not None and [e.content.parts[0].text for e in stored.events if e.content and e.content.parts] == ["one"]


async def test_appending_to_a_deleted_session_raises_adks_error(
    services: tuple[SessionService, DatabaseSessionService],
) -> None:
    lean, _adk = services
    session = await lean.create_session(app_name=APP, user_id="u1", session_id="s1")
    await lean.delete_session(app_name=APP, user_id="u1", session_id="s1")
    with pytest.raises(SessionNotFoundError):
        await lean.append_event(session, _said("user", "hello?"))
    assert await lean.get_session(app_name=APP, user_id="u1", session_id="s1") is None


async def test_reads_keep_adks_order_limit_and_filters(
    services: tuple[SessionService, DatabaseSessionService],
) -> None:
    lean, adk = services
    session = await lean.create_session(app_name=APP, user_id="u1", session_id="s1")
    start = time.time()
    for n in range(6):  # two share a timestamp: ADK breaks the tie on the event id
        await lean.append_event(session, _said("user", f"m{n}", at=start + (n // 2 if n < 2 else n)))
    for config in (None, GetSessionConfig(num_recent_events=3), GetSessionConfig(num_recent_events=0),
                   GetSessionConfig(after_timestamp=start + 3)):
        by_lean = await lean.get_session(app_name=APP, user_id="u1", session_id="s1", config=config)
        by_adk = await adk.get_session(app_name=APP, user_id="u1", session_id="s1", config=config)
        assert by_lean is not None and by_adk is not None
        _same(by_lean, by_adk)
    limited = await lean.get_session(app_name=APP, user_id="u1", session_id="s1", config=GetSessionConfig(num_recent_events=3))
    assert limited is not None and [e.content.parts[0].text for e in limited.events if e.content and e.content.parts] == ["m3", "m4", "m5"]

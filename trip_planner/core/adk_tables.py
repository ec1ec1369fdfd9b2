"""Handles on ADK's session tables, for deleting a person's or an old conversation's rows.

ADK owns these tables (`DatabaseSessionService` creates them, and their schema changes between ADK
minors), so we never create or migrate them; we only delete from them, naming the few key columns
every schema version has. Lightweight `table()` handles, not ADK's ORM classes, keep this working
whichever schema version the database holds.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import column, table

# Events reference their session (app_name, user_id, session_id); user_states hold `user:` state per
# (app_name, user_id); sessions hold the session's own state.
sessions = table("sessions", column("app_name"), column("user_id"), column("id"))
events = table("events", column("app_name"), column("user_id"), column("session_id"))
user_states = table("user_states", column("app_name"), column("user_id"))

ADK_TABLES = ("events", "sessions", "user_states")


async def existing_tables(conn: AsyncConnection) -> set[str]:
    """The names of the tables in the database (ADK's appear only once a session service started)."""
    return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))

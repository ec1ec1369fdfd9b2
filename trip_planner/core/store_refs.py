"""Which platform messages carry which conversation's answers (so a reaction or a button click on one
finds its conversation and owner), and the "first click wins" claims on them. A base of
`ConversationStore`, kept apart for the size of one module."""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from trip_planner.core.tables import message_refs


class AnswerRefs:
    """Needs `_tx` and `_insert_once` from `ConversationStore`."""

    def _tx(self) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError

    async def _insert_once(self, table: Table, **values: Any) -> bool:
        raise NotImplementedError

    async def remember_message(self, *, message_ref: str, conversation_id: str, user_id: str) -> None:
        """Idempotent: remembering the same message twice keeps the first record."""
        await self._insert_once(
            message_refs,
            message_ref=message_ref,
            conversation_id=conversation_id,
            user_id=user_id,
            created_at=time.time(),
        )

    async def conversation_for_message(self, *, message_ref: str) -> str | None:
        async with self._tx() as conn:
            return (
                await conn.execute(
                    select(message_refs.c.conversation_id).where(message_refs.c.message_ref == message_ref)
                )
            ).scalar_one_or_none()

    async def owner_of_message(self, *, message_ref: str) -> tuple[str, str] | None:
        """(conversation id, session user id) of a remembered answer message, or None."""
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(message_refs.c.conversation_id, message_refs.c.user_id).where(
                        message_refs.c.message_ref == message_ref
                    )
                )
            ).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    async def claim_feedback(self, *, message_ref: str, kind: str, conversation_id: str, user_id: str) -> bool:
        """True the first time `kind` feedback is given on this answer message, False after.

        Kept as a row of the refs table under a prefixed key (the table's insert-once primary key is
        the atomic "first click wins" across workers), so a double click on a button, even handled by
        two processes, is acted on once; no new table is needed.
        """
        return await self._insert_once(
            message_refs,
            message_ref=f"feedback-{kind}:{message_ref}"[:255],
            conversation_id=conversation_id,
            user_id=user_id,
            created_at=time.time(),
        )

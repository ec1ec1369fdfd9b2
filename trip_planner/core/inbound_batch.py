"""Group commit for storing inbound messages: the messages that arrive while one batch is being
written are written together in the next, in one statement.

Why: every message is stored before the platform gets its acknowledgement, and under load (50
events in flight) one transaction per message meant 50 checkouts queued for a pool that SQLite
holds to one connection. One statement for all of them costs one checkout and one round trip. There is
no timer: a lone message is written at once, and batches form only while a write is under way, so
grouping never adds latency of its own.

Dedupe is unchanged: each row is `INSERT … ON CONFLICT DO NOTHING` on the message id, so a row that
is already there (stored by this process, another one, or earlier in the same batch) reports False.
A batch is one INSERT … RETURNING per group of rows with the same columns (one in practice), run in
autocommit: a single statement is atomic on its own, and the BEGIN and COMMIT round trips are saved.
With `announce` set (a process that leaves answering to others, see `core/dispatch.py`), the statement
also sends a PostgreSQL NOTIFY on that channel, delivered on commit; other databases have no NOTIFY,
and their listeners poll.

If the batch's statement fails, each of its messages is written again on its own, so one bad row
refuses only its own message (the platform delivers it again) and never its neighbours'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trip_planner.core.urgent_pool import urgent

log = logging.getLogger(__name__)

MAX_ROWS = 500  # per transaction: well under both databases' limit on a statement's parameters
_Item = tuple[Mapping[str, Any], "asyncio.Future[bool]"]


class InsertBatcher:
    """Inserts rows of one table keyed by `key`, grouping concurrent callers into one transaction."""

    def __init__(self, engine: AsyncEngine, table: Table, *, key: str, prepare: Callable[[], Awaitable[None]]) -> None:
        self.engine, self.table, self.key = engine, table, key
        self._prepare = prepare
        self.announce: str | None = None  # a NOTIFY channel told of every batch that stored a row
        # One statement is its own transaction: no BEGIN and COMMIT round trips while a platform waits.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pending: list[_Item] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written: for tests and logs

    async def insert(self, values: Mapping[str, Any]) -> bool:
        """Store one row; False when a row with its key already exists. Raises when it could not
        be stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="inbound-batch-writer")
        return await future

    async def _write_batches(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_ROWS], self._pending[MAX_ROWS:]
                await self._write(batch)
        finally:  # cancelled at shutdown: nobody may wait forever
            for _, future in self._pending:
                if not future.done():
                    future.set_exception(RuntimeError("stopped before the message was stored"))
            self._pending = []

    async def _write(self, batch: list[_Item]) -> None:
        try:
            await self._prepare()
            with urgent():  # acknowledgements wait on this: it goes ahead of turn writes
                async with self._autocommit.connect() as conn:
                    results = await self._insert_all(conn, [values for values, _ in batch])
        except BaseException as error:
            if len(batch) > 1 and isinstance(error, Exception):
                log.warning("Storing %d messages together failed (%s); storing each alone", len(batch), type(error).__name__)
                for item in batch:
                    await self._write([item])
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        self.batches += 1
        for (_, future), stored in zip(batch, results):
            if not future.done():
                future.set_result(stored)

    async def _insert_all(self, conn: AsyncConnection, rows: list[Mapping[str, Any]]) -> list[bool]:
        """One executemany per group of rows with the same columns: SQLAlchemy sends it as one
        multi-row INSERT (its "insertmanyvalues"), one round trip, which matters on a busy event loop
        (every await waits for a whole turn of it), while the statement stays the same for any number
        of rows, so it is compiled once (a `.values(rows)` statement was compiled anew for every batch
        size: 4-10 ms a batch, on the acknowledgement's path). A key repeated in the batch is inserted
        for its first row only."""
        first: dict[Any, int] = {}
        groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
        for index, values in enumerate(rows):
            if values[self.key] not in first:
                first[values[self.key]] = index
                groups.setdefault(frozenset(values), []).append(values)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        returned: list[Any] = [self.table.c[self.key]]
        if self.announce and dialect is postgresql:
            # NOTIFY within the statement, so it costs no round trip; PostgreSQL sends identical
            # notifications of one transaction once, on commit.
            returned.append(func.pg_notify(self.announce, ""))
        statement = dialect.insert(self.table).on_conflict_do_nothing(index_elements=[self.key]).returning(*returned)
        inserted: set[Any] = set()
        for group in groups.values():
            inserted.update((await conn.execute(statement, group)).scalars().all())
        return [first[values[self.key]] == index and values[self.key] in inserted for index, values in enumerate(rows)]

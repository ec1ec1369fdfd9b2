"""Work in flight in one adapter, so a SIGTERM lets it finish (bounded) instead of dropping it.

Bolt does not keep references to the tasks it starts and discord.py runs each event in a task of its
own; neither waits for them on shutdown. Every answer, catch-up pass and follow-up an adapter starts
is tracked here, and `drain` waits for them, including work started meanwhile, up to a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self.accepting = True  # False once draining: adapters refuse (or leave) new work

    def __len__(self) -> int:
        return sum(1 for task in self._tasks if not task.done())

    def spawn(
        self, work: Coroutine[Any, Any, Any], name: str, *, on_done: Callable[[], None] | None = None
    ) -> asyncio.Task[Any]:
        """Run `work` as a tracked task; `on_done` runs however it ends, even if it never started."""
        task = asyncio.create_task(work, name=name)
        self._add(task)
        if on_done is not None:
            task.add_done_callback(lambda _task: on_done())
        return task

    def track_current(self) -> None:
        """Track the running task (a platform library's event handler task)."""
        task = asyncio.current_task()
        if task is not None:
            self._add(task)

    def _add(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and task is not asyncio.current_task():
            log.error("%s task %s failed", self.name, task.get_name(), exc_info=task.exception())

    async def drain(self, timeout_s: float, *, force: asyncio.Event | None = None, cancel: bool = True) -> bool:
        """Stop accepting, then wait for the tracked work (and work it starts) for at most
        `timeout_s`, or until `force` is set; what still runs then is cancelled (when `cancel`).
        True when nothing was left."""
        self.accepting = False
        await asyncio.sleep(0)  # let handlers already scheduled start and register
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        forced = asyncio.ensure_future((force or asyncio.Event()).wait())
        me = asyncio.current_task()
        try:
            while True:
                pending = {t for t in self._tasks if not t.done() and t is not me}
                remaining = deadline - loop.time()
                if not pending:
                    return True
                if remaining <= 0 or forced.done():
                    break
                log.info("Waiting for %d answers in flight before closing (%s, up to %.0fs)", len(pending), self.name, remaining)
                await asyncio.wait({*pending, forced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            forced.cancel()
        log.warning("Closing with %d answers still in flight (%s)", len(pending), self.name)
        if cancel:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return False

"""Answer a command within the platform's deadline, or acknowledge it and follow up.

Slack wants a slash command acknowledged within 3 s, Discord an interaction answered within 3 s. A
command that starts or ends a trip waits for that person's turn in progress, which can take longer.
So the result goes in the first response when it is ready in time; otherwise the first response
says "one moment" (Slack) or "thinking…" (Discord's deferral) and the result follows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from trip_planner.core import replies
from trip_planner.core.inflight import InFlight

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 2.0  # both platforms give 3 s; leave room for the response's own round trip


async def reply_within(
    work: Coroutine[Any, Any, str],
    *,
    deadline_s: float,
    reply: Callable[[str], Awaitable[Any]],
    defer: Callable[[], Awaitable[Any]],
    follow_up: Callable[[str], Awaitable[Any]],
    inflight: InFlight | None = None,
) -> None:
    """Run `work`; `reply(result)` if it finishes within `deadline_s`, else `defer()` at once and
    `follow_up(result)` when it does (as a tracked task when `inflight` is given, so the caller can
    return, e.g. to let Bolt send the acknowledgement). A failing `work` answers `COMMAND_FAILED`."""
    job: asyncio.Task[str] = asyncio.ensure_future(_safe(work))
    done, _ = await asyncio.wait({job}, timeout=deadline_s)
    if done:
        await reply(job.result())
        return
    await defer()

    async def finish() -> None:
        text = await job
        try:
            await follow_up(text)
        except Exception:
            log.exception("Could not send a command's result after deferring it")

    if inflight is not None:
        inflight.spawn(finish(), "command-follow-up")
    else:
        await finish()


async def _safe(work: Coroutine[Any, Any, str]) -> str:
    try:
        return await work
    except Exception:
        log.exception("A command failed")
        return replies.COMMAND_FAILED

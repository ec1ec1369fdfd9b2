"""The one routine that posts an answer, for the live path and the recovery sweep alike.

Its order is the point: take the user's posting gate (a 👍 on a fresh answer waits for the refs
below instead of finding nothing), see what already reached the platform when recovering (a crash
can happen after a post), post the parts in order (a failed part stops the rest, so the order stays
right when the sweep finishes it), remember which platform messages carry the answer, and mark the
message delivered only when every part is out. A place that is gone is given up on, loudly, instead
of retried until the message is pruned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from trip_planner.core.channel import Channel, Inbound, PlaceGone
from trip_planner.core.messages import Reply
from trip_planner.core.store import ConversationStore
from trip_planner.core.workers import backoff_s

log = logging.getLogger(__name__)


class PostingGate:
    """Answers being posted right now, per session user id, so a reaction can wait for them.

    An answer becomes visible before the adapter knows which platform message carries it (the
    platform returns the id). A quick thumbs-up in that gap would find no record and be ignored, so
    posting happens inside `posting`, and reactions wait in `settled`.
    """

    def __init__(self) -> None:
        self._open: dict[str, set[asyncio.Event]] = {}

    def __len__(self) -> int:
        return len(self._open)

    @asynccontextmanager
    async def posting(self, user_id: str) -> AsyncIterator[None]:
        done = asyncio.Event()
        self._open.setdefault(user_id, set()).add(done)
        try:
            yield
        finally:
            done.set()
            pending = self._open.get(user_id)
            if pending is not None:
                pending.discard(done)
                if not pending:
                    del self._open[user_id]

    async def settled(self, user_id: str, *, timeout_s: float) -> bool:
        """Wait until the user's answers being posted now are recorded; False if `timeout_s` passed."""
        pending = list(self._open.get(user_id, ()))
        if not pending:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in pending)), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True


class Deliveries:
    """Posts answers through a `Channel` and records the outcome in the store."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.gate = PostingGate()

    async def deliver(
        self,
        channel: Channel,
        inbound: Inbound,
        reply: Reply,
        *,
        progress: Any = None,
        recovering: bool = False,
        stream: str | None = None,
    ) -> bool:
        """Post `reply` as the answer to `inbound`; True when all of it is on the platform, False when
        the recovery sweep must finish it, or when the place is gone for good (then it is marked
        delivered all the same, so nobody tries again). `stream` is the message that showed the answer
        growing (see `answer_stream`); when recovering, the one stored with the message."""
        async with self.gate.posting(inbound.user_id):
            gone = False
            try:
                complete = await self._post_parts(
                    channel, inbound, reply, progress=progress, recovering=recovering, stream=stream or inbound.stream
                )
            except PlaceGone as error:
                log.warning("Giving up on the answer to message %s: %s", inbound.message_id, error)
                complete, gone = False, True
            except Exception:
                log.exception("Could not post the answer to message %s; the recovery sweep tries again", inbound.message_id)
                complete = False
            finally:
                await self._clear(channel, inbound, progress)
            if complete or gone:
                await self.store.mark_delivered(message_id=inbound.message_id)
            else:  # any worker's sweep posts what is missing, after a backoff
                await self.store.release_for_retry(message_id=inbound.message_id, after_s=backoff_s)
        return complete

    async def _post_parts(
        self, channel: Channel, inbound: Inbound, reply: Reply, *, progress: Any, recovering: bool, stream: str | None
    ) -> bool:
        parts = channel.render(reply.text)
        already: dict[int, str] = {}
        if recovering:
            posted = await channel.posted(inbound)
            if posted is None:
                log.warning("Cannot tell what reached the platform of the answer to %s; trying later", inbound.message_id)
                return False
            already, progress = dict(posted.parts), progress or posted.progress
            stream = posted.stream or stream
        refs: list[str] = []
        complete = True
        # Feedback buttons go under the last part of an answer in a conversation (what a 👍 can end).
        controls = channel.feedback_controls and reply.conversation_id is not None and reply.status == "answered"
        for index, text in enumerate(parts):
            extra: dict[str, Any] = {"controls": True} if controls and index == len(parts) - 1 else {}
            if channel.cards and reply.card is not None and index == 0:
                extra["card"] = reply.card  # the trip at a glance, above the answer's first part
            if channel.streams and index == 0:
                extra["stream"] = stream  # the streamed words become the answer's first part
            ref = already.get(index) or await channel.post(
                inbound, index, text, progress=progress if index == 0 else None, **extra
            )
            if ref is None:
                complete = False  # the rest waits for the sweep, so the parts stay in order
                break
            refs.append(ref)
        if reply.conversation_id is not None:
            for ref in refs:
                await self.store.remember_message(
                    message_ref=ref, conversation_id=reply.conversation_id, user_id=inbound.user_id
                )
        return complete

    @staticmethod
    async def _clear(channel: Channel, inbound: Inbound, progress: Any) -> None:
        if progress is None:
            return
        try:
            await channel.clear_progress(inbound, progress)
        except Exception:
            log.exception("Could not clear the progress shown for message %s", inbound.message_id)

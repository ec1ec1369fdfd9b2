"""An answer shown as it grows: the model's words reach the platform while the turn still runs.

Why a pump: a streaming model yields a chunk every few tens of milliseconds, but platforms take about
one change a second (Discord allows 5 edits per 5 s in a channel). So the turn only hands over the
text so far (`feed`, which never blocks it), and one task sends the latest text at most every
`Channel.stream_every_s`, one call at a time, in order; chunks that arrive in between are merged.

Exactly once: before the first call starts the stream (`Channel.start_stream`) the inbound message is
marked `PENDING_STREAM`, and the stream's ref replaces the mark before any more text is sent, so after
a crash the recovery sweep finds that message (by its ref, or by the platform's own look-up when only
the mark was stored) and turns it into the recovered answer instead of posting a second one. `finish` waits
for the call in flight and returns the ref; the delivery hands it to the answer's first part, which
replaces the streamed text with the final one (the stored answer is always that final text).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from collections.abc import Awaitable, Callable
from typing import Any

from trip_planner.core.channel import PENDING_STREAM, Channel, Inbound, StreamStep, StreamUpdate

log = logging.getLogger(__name__)


def whole_words(text: str) -> str:
    """`text` up to its last whitespace (the word being written is held back)."""
    cut = max(text.rfind(" "), text.rfind("\n"))
    return text[: cut + 1] if cut >= 0 else ""


class AnswerStream:
    """One answer's stream on one channel; made when the turn starts, finished before delivery."""

    def __init__(
        self, channel: Channel, inbound: Inbound, progress: Any, *, remember: Callable[[str], Awaitable[None]]
    ) -> None:
        self.channel = channel
        self.inbound = inbound
        self.progress = progress
        self.remember = remember
        self.ref: str | None = None  # the streamed message, once started
        self._text = ""
        self._steps: list[StreamStep] = []
        self._sent_text = ""
        self._sent_steps: tuple[StreamStep, ...] = ()
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def feed(self, text: str) -> None:
        """The answer so far (whole, not a delta); sent soon, merged with what comes meanwhile. Only
        whole words go out, so no chunk ends inside a word a platform would read as markup
        ("@chan" + "nel"), and a link or mention is never cut in two by a chunk boundary. The words
        mean the planner is writing: every step so far is done."""
        text = whole_words(text)
        if self._closing.is_set() or not text.strip() or text == self._text:
            return
        self._text = text
        self._finish_steps()
        self._changed()

    def step(self, title: str) -> None:
        """The planner started a piece of work (a tool): a step; the one before is done. Steps wait
        for the first words: until the model writes, the platform's progress indicator says what
        happens (Slack's status line), and a model that does not stream (the offline one) never
        starts a stream, so its answer is posted whole. Once words show, a new step shows at once."""
        if self._closing.is_set() or (self._steps and self._steps[-1].title == title and not self._steps[-1].done):
            return
        self._finish_steps()
        self._steps.append(StreamStep(id=f"step-{len(self._steps) + 1}", title=title))
        if self._text:
            self._changed()

    async def finish(self) -> str | None:
        """Stop sending (the call in flight completes) and return the streamed message's ref."""
        self._closing.set()
        self._wake.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("The stream of the answer to %s failed", self.inbound.message_id)
        return self.ref

    def _finish_steps(self) -> None:
        self._steps = [replace(s, done=True) if not s.done else s for s in self._steps]

    def _changed(self) -> None:
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._pump(), name=f"stream-{self.inbound.message_id}")

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            if self._closing.is_set():
                return
            self._wake.clear()
            text, steps = self._text, tuple(self._steps)
            sent = set(self._sent_steps)
            added = text[len(self._sent_text):] if text.startswith(self._sent_text) else text
            update = StreamUpdate(text=text, added=added, steps=steps, changed=tuple(s for s in steps if s not in sent))
            shown = await self._send(update)
            if shown is None:
                return
            if shown:
                self._sent_text, self._sent_steps = text, steps
            else:
                self._wake.set()  # not shown (the platform's pace): tried again after the pause
            with contextlib.suppress(TimeoutError):  # the pace the platform allows; finish cuts it short
                await asyncio.wait_for(self._closing.wait(), self.channel.stream_every_s)

    async def _send(self, update: StreamUpdate) -> bool | None:
        """One call: whether the platform showed it, or None when streaming stops for this answer
        (the platform cannot stream here)."""
        if self.ref is None:
            if not self.channel.can_stream(self.inbound, self.progress):
                return None
            try:  # stored first: a crash right after the platform's start must not leave a stray message
                await self.remember(PENDING_STREAM)
            except Exception:
                log.exception("Could not store the stream of the answer to %s; it is posted whole", self.inbound.message_id)
                return None
            try:
                self.ref = await self.channel.start_stream(self.inbound, self.progress, update)
            except Exception:
                log.exception("Could not start streaming the answer to %s; it is posted whole", self.inbound.message_id)
                return None
            if self.ref is None:
                return None
            try:
                await self.remember(self.ref)
            except Exception:  # the answer still goes out; only a crash before it could now double it
                log.exception("Could not store the stream of the answer to %s", self.inbound.message_id)
            return True
        try:
            return await self.channel.append_stream(self.inbound, self.ref, update)
        except Exception:
            log.exception("Could not add to the stream of the answer to %s", self.inbound.message_id)
            return False

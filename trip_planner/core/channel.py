"""The channel contract: what a platform does for the core, and what the core hands a platform.

The core owns every rule (dedupe, turn order, what a 👍 means, when an answer counts as delivered,
recovery, catch-up); a platform adapter owns only its translation. So the contract is small: the
core hands an adapter `Inbound` values (its own type, never a store row) and asks it to show or clear
progress, render and post one part of an answer idempotently under a key the core chooses
(`Inbound.message_id` + the part's index), say what already reached the platform, post a short note,
and read a place's messages after a point. An adapter that cannot reach a place any more raises
`PlaceGone` and the core gives up on it, loudly.

Modelled on Rasa's `InputChannel`/`OutputChannel` and the Vercel chat SDK's `Adapter`: one small
interface per platform with sensible defaults, and a collecting double for tests
(`tests/channel_double.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class PlaceGone(Exception):
    """The platform says an answer can never be posted where it belongs (the bot left the channel,
    the channel was deleted, the person closed their DMs): retrying cannot help."""


@dataclass(frozen=True)
class Inbound:
    """A person's message, as the core knows it.

    `message_id` is the platform's identity of the message, prefixed with the platform
    ("slack:T1:C1:1700000000.000100", "discord:1234"): the dedupe key, and the key under which the
    answer's parts are posted idempotently. `place` is where it was said, for catch-up after an
    outage (None when the adapter does not catch up there). `follows`, when set, is a place (a
    thread) the bot follows from now on for this person: a later message there without a mention
    continues the conversation. `reply_to` is the adapter's own note of where the answer goes; the
    core stores it and hands it back untouched. `attachments` marks a message that carried only
    files the planner cannot read. `stream` is the ref (from `Channel.start_stream`) of a message
    that showed the answer as it grew, when one was started: the answer's first part replaces it
    (`PENDING_STREAM` when a process died while starting one).
    """

    message_id: str
    user_id: str
    text: str
    place: str | None = None
    follows: str | None = None
    reply_to: Mapping[str, Any] = field(default_factory=dict)
    attachments: bool = False
    stream: str | None = None

    @property
    def platform(self) -> str:
        return self.message_id.split(":", 1)[0]


@dataclass(frozen=True)
class StreamStep:
    """One piece of tool work shown in a streamed answer ("Checking hotels in Kyoto"), with a
    stable `id` so a platform can update it in place; `done` once the planner moved on."""

    id: str
    title: str
    done: bool = False


@dataclass(frozen=True)
class StreamUpdate:
    """What a streamed answer shows now: `text` is the answer so far (Markdown, whole words),
    `added` what is new since the last call, `steps` every step so far and `changed` the steps new
    or finished since the last call (all of them on the first call)."""

    text: str
    added: str = ""
    steps: tuple[StreamStep, ...] = ()
    changed: tuple[StreamStep, ...] = ()


@dataclass(frozen=True)
class Posted:
    """What of an answer already reached the platform: part index -> message ref, a progress
    indicator (a placeholder) left behind, which the first part may replace, and the message a cut
    stream left (found when only `PENDING_STREAM` was stored), which the first part replaces."""

    parts: Mapping[int, str] = field(default_factory=dict)
    progress: Any = None
    stream: str | None = None


#: Stored as `Inbound.stream` just before a stream starts: a process killed between the platform's
#: start and storing its ref leaves this, and the platform must look for the message (Slack: its
#: untagged reply in the thread, in `posted`; Discord: the stream's nonce, in `post`).
PENDING_STREAM = "pending"


class Channel(ABC):
    """One platform, as the core's routines (delivery, recovery, catch-up) use it."""

    #: The platform's prefix of message ids and session user ids ("slack", "discord", "console").
    platform: str

    #: Whether the platform shows feedback controls (👍/👎 buttons) under an answer. When true, the
    #: core calls `post` with `controls=True` for the last part of each answer that belongs to a
    #: conversation (so a click can end or flag it, as a reaction does); platforms without controls
    #: never receive the keyword.
    feedback_controls: bool = False

    #: Whether the platform shows the trip as a card (Slack's Block Kit, Discord's embed). When true,
    #: the core passes `card=` (a `TripCard`) to `post` for part 0 of an answer whose turn changed
    #: the trip; other platforms never receive the keyword.
    cards: bool = False

    #: Whether the platform can show an answer as it grows (Slack's stream methods, Discord's edits).
    #: When true, the core calls `start_stream` with the first step or words and `append_stream` as
    #: more come, at most once every `stream_every_s` seconds, and passes `stream=` (the started stream's
    #: ref, or None) to `post` for part 0, which turns that message into the answer's first part.
    streams: bool = False
    stream_every_s: float = 1.5

    @abstractmethod
    def render(self, text: str) -> list[str]:
        """The answer's Markdown as the platform's messages, in order (converted, then split with
        `trip_planner.core.splitting.split_markdown` at the platform's limit)."""

    @abstractmethod
    async def post(self, inbound: Inbound, part: int, text: str, *, progress: Any = None) -> str | None:
        """Post part `part` of the answer to `inbound`, at most once even when called again (after a
        crash, a lost response): the platform's idempotency (Discord's nonce, Slack's metadata
        lookup) is keyed by `inbound.message_id` and `part`. `progress` (part 0 only) is the
        indicator this answer replaces, when the platform shows one in place. Returns the message
        ref the core remembers for reactions, or None when the platform did not take it (the
        recovery sweep tries again). Raises `PlaceGone` when it never will. Channels with
        `feedback_controls` also take a keyword `controls: bool` (show the buttons under this part),
        and channels with `cards` a keyword `card` (the trip's card, shown with part 0), and channels
        that `streams` a keyword `stream` (the message that showed the answer growing, for part 0)."""

    async def show_progress(self, inbound: Inbound) -> Any:
        """Show that a turn is running (placeholder, status, typing); returns a handle or None."""
        return None

    def show_activity(self, inbound: Inbound, progress: Any, tool: str, args: Mapping[str, Any]) -> None:
        """The turn started using `tool` with `args` (the model's call): platforms whose progress
        indicator can say what is happening update it (Slack's status line). Must not block or
        raise: the turn goes on meanwhile, so an adapter schedules its own work and keeps the
        indicator's updates in order with `clear_progress`."""

    def can_stream(self, inbound: Inbound, progress: Any) -> bool:
        """Whether an answer to `inbound` can stream where it goes (quick, no I/O): asked before
        the core marks the message `PENDING_STREAM`, so answers that cannot stream cost no write."""
        return self.streams

    async def start_stream(self, inbound: Inbound, progress: Any, update: StreamUpdate) -> str | None:
        """Show the answer's first steps or words as one message that will grow; returns its ref,
        which the core stores so a recovered answer replaces it, or None where the platform cannot
        stream here (then the answer is posted whole). Must neutralise mentions exactly as `post`."""
        return None

    async def append_stream(self, inbound: Inbound, stream: str, update: StreamUpdate) -> bool:
        """Show what the answer shows now in the stream's message. False when the platform would not
        (the stream stays as it is; the next call carries everything again)."""
        return False

    async def clear_progress(self, inbound: Inbound, progress: Any) -> None:
        """The turn's answer went out (or gave up): stop showing progress that was not replaced."""

    async def posted(self, inbound: Inbound) -> Posted | None:
        """What a crashed or failed delivery got onto the platform, before the recovery sweep posts
        again; None when the platform cannot say now (then nothing is posted, to avoid a double).
        Platforms whose `post` is idempotent by itself need not look."""
        return Posted()

    async def note(self, inbound: Inbound, text: str, *, progress: Any = None) -> None:
        """A short message that is not an answer (an apology when storage failed), shown in place of
        `progress` when given, so a later recovered answer can still replace it."""
        for part, piece in enumerate(self.render(text)):
            await self.post(inbound, part, piece, progress=progress if part == 0 else None)

    def catches_up(self, place: Inbound) -> bool:
        """Whether this process should read `place` (its last stored message) after an outage:
        adapters that do not catch up, or run only some shards, say no."""
        return False

    def read_after(self, last: Inbound, *, limit: int) -> AsyncIterator[Inbound]:
        """A place's messages after `last`, oldest first, as inbound messages for the bot (the
        adapter's filters applied: no bots, no edits, mentions only where they are needed)."""
        raise NotImplementedError(f"{type(self).__name__} does not catch up")

"""Slack as a `Channel`: where an answer goes, how it is shown, and what reached Slack already.

The core decides when to post and what counts as delivered; this says how on Slack: a status line
in DMs while a turn runs (`status`), elsewhere a placeholder (turned into the answer's first part in
place), mrkdwn converted by `formatting`, feedback buttons under the last part (`feedback`), posts
tagged with metadata so a lookup can tell what a crashed or failed delivery got out (`posting`), and
the history of a DM read back after an outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.card_blocks import part_blocks
from bots.slack.formatting import render
from bots.slack.stream_chunks import stream_chunks
from bots.slack.identity import message_key, ts_of_key
from bots.slack.posting import PLACEHOLDER_PART, UNTAGGED, PostTag, SlackPoster
from bots.slack.status import UPDATE_EVERY_S, StatusShown, clear_status, show_status, status_place, update_status
from trip_planner.core import replies
from trip_planner.core.channel import PENDING_STREAM, Channel, Inbound, Posted, StreamUpdate
from trip_planner.core.trip_card import TripCard

log = logging.getLogger(__name__)

STREAM_MAX_CHARS = 12_000  # Slack's limit on a streamed message's markdown_text

# Translates one `message` event (live or read back from history) into the core's inbound message,
# or None when it is not a person's new message for the bot; see `SlackListeners.message_inbound`.
MessageTranslator = Callable[[dict[str, Any], str], Any]


def ts_value(ts: Any) -> Decimal | None:
    """A Slack ts as an exact number (a float can merge two ts of one second), or None if it is not one."""
    try:
        return Decimal(str(ts))
    except (InvalidOperation, ValueError):
        return None


class SlackChannel(Channel):
    platform = "slack"
    feedback_controls = True  # 👍/👎 feedback buttons under each answer's last part (`feedback`)
    cards = True  # the trip's card above an answer that changed it (`card_blocks`)
    streams = True  # answers in a DM's thread grow as the model writes them (chat.startStream)
    stream_every_s = 1.0

    def __init__(self, client: AsyncWebClient, poster: SlackPoster, *, statuses: bool = True) -> None:
        self.client = client
        self.poster = poster
        self.statuses = statuses  # a status line in DMs instead of a placeholder (`status`)
        self.status_every_s = UPDATE_EVERY_S  # the line follows the planner's tools, this often at most
        self.after_answer: Callable[[Inbound], None] | None = None  # told when an answer's first part is out
        self.translate: MessageTranslator | None = None  # set by the listeners (catch-up uses it)
        self._threads: OrderedDict[str, str | None] = OrderedDict()  # answer ts -> its thread_ts

    # -- where ------------------------------------------------------------------------------------

    @staticmethod
    def _where(inbound: Inbound) -> tuple[str, str, str | None, str]:
        where = inbound.reply_to
        channel, team = str(where.get("channel") or ""), str(where.get("team") or "")
        if not channel or not team:
            raise ValueError(f"message {inbound.message_id} has no stored Slack destination")
        return team, channel, where.get("thread_ts"), ts_of_key(inbound.message_id)

    def thread_of(self, ts: str) -> str | None | bool:
        """The thread an answer of ours sits in, when this process posted it (False: unknown)."""
        return self._threads.get(ts, False)

    def _posted_in(self, ts: str, thread_ts: str | None) -> None:
        self._threads[ts] = thread_ts
        while len(self._threads) > 10_000:
            self._threads.popitem(last=False)

    # -- the contract -------------------------------------------------------------------------------

    def render(self, text: str) -> list[str]:
        return render(text)

    async def show_progress(self, inbound: Inbound) -> StatusShown | str | None:
        """A status line in DMs (`status`); elsewhere, or when Slack refuses one, a placeholder."""
        team, channel, thread_ts, since = self._where(inbound)
        shown = status_place(inbound, since) if self.statuses else None
        if shown is not None and await show_status(self.client, shown):
            return shown
        return await self.poster.post(channel, thread_ts, replies.PLACEHOLDER, PostTag(inbound.message_id, PLACEHOLDER_PART, since))

    def show_activity(self, inbound: Inbound, progress: Any, tool: str, args: Mapping[str, Any]) -> None:
        """The status line says what the planner does now ("is checking hotels in Kyoto…"); a
        placeholder in a channel stays as it is."""
        status = replies.activity_status(tool, args)
        if status and isinstance(progress, StatusShown):
            update_status(self.client, progress, status, every_s=self.status_every_s)

    async def clear_progress(self, inbound: Inbound, progress: Any) -> None:
        if isinstance(progress, StatusShown):
            await clear_status(self.client, progress)

    def can_stream(self, inbound: Inbound, progress: Any) -> bool:
        return bool(inbound.reply_to.get("thread_ts")) and isinstance(progress, StatusShown)

    async def start_stream(self, inbound: Inbound, progress: Any, update: StreamUpdate) -> str | None:
        """Slack streams a reply only into a thread: DMs whose answers go in the message's thread
        (agent view) stream; a plain DM, and a channel mention with its placeholder, post whole.
        Steps go as task chunks (a timeline above the words), the model's Markdown as markdown
        chunks with every `&`, `<` and `>` escaped as in `post`, so no chunk can ping anyone. Once
        the stream shows, the status line is left alone (Slack clears it on the reply)."""
        _team, channel, thread_ts, _since = self._where(inbound)
        if thread_ts is None or not isinstance(progress, StatusShown) or len(update.text) > STREAM_MAX_CHARS:
            return None
        async with progress.lock:  # after a status change being sent, and no change after it
            ts = await self.poster.start_stream(channel, thread_ts, stream_chunks(update.changed, update.text))
            progress.streaming = ts is not None
        return ts

    async def append_stream(self, inbound: Inbound, stream: str, update: StreamUpdate) -> bool:
        if len(update.text) > STREAM_MAX_CHARS:
            return False  # the final answer, split into parts, shows the rest
        _team, channel, _thread, _since = self._where(inbound)
        return await self.poster.append_stream(channel, stream, stream_chunks(update.changed, update.added))

    async def post(
        self, inbound: Inbound, part: int, text: str, *, progress: Any = None, controls: bool = False,
        card: TripCard | None = None, stream: str | None = None,
    ) -> str | None:
        team, channel, thread_ts, since = self._where(inbound)
        blocks = part_blocks(text, card=card, controls=controls)
        ts: str | None = None
        if part == 0 and stream is not None and stream != PENDING_STREAM:  # the streamed words become part 0
            ts = await self._finish_stream(channel, stream, text, blocks, PostTag(inbound.message_id, "0", since))
            if ts is not None and isinstance(progress, str):  # an apology posted after the stream was cut goes
                await self.poster.delete(channel, progress)
        if ts is None and part == 0 and isinstance(progress, str):  # a placeholder becomes the first part
            if await self.poster.update(channel, progress, text, blocks=blocks):
                ts = progress
            else:
                await self.poster.delete(channel, progress)
        if ts is None:
            ts = await self.poster.post(channel, thread_ts, text, PostTag(inbound.message_id, str(part), since), blocks=blocks)
        if ts is None:
            return None
        if isinstance(progress, StatusShown):  # the answer is on screen: the status goes
            await clear_status(self.client, progress)
        self._posted_in(ts, thread_ts)
        if part == 0 and self.after_answer is not None:
            self.after_answer(inbound)
        return message_key(team, channel, ts)

    async def _finish_stream(
        self, channel: str, stream: str, text: str, blocks: list[dict[str, Any]] | None, tag: PostTag
    ) -> str | None:
        """Stop the stream and replace its words with the final first part (its blocks, the card and
        the buttons, and the metadata a recovery looks for); if Slack will not, the streamed
        message goes and the part is posted anew."""
        await self.poster.stop_stream(channel, stream)
        if await self.poster.update(channel, stream, text, blocks=blocks, tag=tag):
            return stream
        await self.poster.delete(channel, stream)
        return None

    async def note(self, inbound: Inbound, text: str, *, progress: Any = None) -> None:
        # Tagged as the placeholder: a later recovered answer finds it and takes its place.
        team, channel, thread_ts, since = self._where(inbound)
        if isinstance(progress, str) and await self.poster.update(channel, progress, text):
            return
        await self.poster.post(channel, thread_ts, text, PostTag(inbound.message_id, PLACEHOLDER_PART, since))
        if isinstance(progress, StatusShown):
            await clear_status(self.client, progress)

    async def posted(self, inbound: Inbound) -> Posted | None:
        team, channel, thread_ts, since = self._where(inbound)
        found = await self.poster.find(channel, thread_ts, inbound.message_id, since_ts=since)  # PlaceGone propagates
        if found is None:
            return None
        parts = {int(part): message_key(team, channel, ts) for part, ts in found.items() if part.isdigit()}
        for part, ts in found.items():
            if part.isdigit():
                self._posted_in(ts, thread_ts)
        # A worker that died mid-turn may have left a status in a DM: the recovered answer's first part
        # clears it, or, when that part is out already, it is cleared now.
        status = status_place(inbound, since) if self.statuses else None
        if status is not None and 0 in parts:
            await clear_status(self.client, status)
        left: StatusShown | str | None = found.get(PLACEHOLDER_PART) or status
        # A process killed between starting a stream and storing its ts left only the mark: the
        # stream is the untagged reply of ours in the thread (every finished answer is tagged).
        cut = found.get(UNTAGGED) if inbound.stream == PENDING_STREAM and 0 not in parts else None
        return Posted(parts=parts, progress=left, stream=cut)

    # -- catch-up: DMs only -------------------------------------------------------------------------

    def catches_up(self, place: Inbound) -> bool:
        """DMs only. A mention in a channel, and a follow-up in a thread, would mean reading every
        channel's history and every thread's replies (costly, and tightly rate-limited), so those
        rely on Slack's retries. Replies in a thread inside a DM are not in its history either."""
        return str(place.reply_to.get("channel") or "").startswith("D")

    async def read_after(self, last: Inbound, *, limit: int) -> AsyncIterator[Inbound]:
        team, channel, _thread, oldest = self._where(last)
        start = ts_value(oldest)
        if start is None or self.translate is None:
            return
        try:
            # `oldest` is exclusive: the stored message itself is not listed.
            result = await self.client.conversations_history(channel=channel, oldest=oldest, limit=min(limit, 200))
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            error = err.response.get("error") if isinstance(err, SlackApiError) and err.response is not None else err
            log.warning("Could not read DM %s to catch up (%s); skipping it", channel, error or type(err).__name__)
            return
        messages = [m for m in result.get("messages") or [] if (ts_value(m.get("ts")) or start) > start]
        if result.get("has_more"):
            # Slack lists the newest first: the older ones are out of reach of one bounded read.
            log.warning("DM %s has more messages since the last one stored than one read takes; only the newest are looked at", channel)
        for message in sorted(messages, key=lambda m: ts_value(m.get("ts")) or start):
            # History lists messages without the event's place; a thread's parent carries its own ts
            # as thread_ts, which its live event did not (it was a top-level message then).
            event = dict(message, channel=channel, channel_type="im")
            if event.get("thread_ts") == event.get("ts"):
                del event["thread_ts"]
            inbound = self.translate(event, team)
            if inbound is not None:
                yield inbound

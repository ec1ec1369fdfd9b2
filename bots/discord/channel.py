"""Discord as a `Channel`: typing while a turn runs, answers sent once by nonce, history read back.

Each piece of an answer carries `answer_nonce(inbound, piece)` with `enforce_nonce`, so sending the
same piece again (discord.py's retry after a lost response, or the recovery sweep) gets Discord's
existing message back instead of a second one, for a few minutes: the core's retries of a refused
post (5 s doubling) fall inside that window for the first several attempts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord

from bots.discord.buttons import feedback_view
from bots.discord.embed import trip_embed
from bots.discord.formatting import NO_MENTIONS, render, stream_content
from bots.discord.identity import answer_nonce, answer_ref
from trip_planner.core.channel import PENDING_STREAM, Channel, Inbound, PlaceGone, StreamUpdate
from trip_planner.core.trip_card import TripCard

log = logging.getLogger(__name__)

TYPING_EVERY_S = 8.0  # Discord shows "typing…" for about 10 s per request
# Discord JSON error codes after which an answer can never be sent where it belongs: Unknown Channel,
# and "Cannot send messages to this user" (DMs closed, or the bot blocked). Missing access or
# permissions (50001, 50013) are not here: a server admin may still fix those. For an interaction's
# follow-up: Unknown Webhook and Invalid Webhook Token (its token lasts 15 minutes).
GONE_CODES = frozenset({10003, 50007, 10015, 50027})
# Discord allows 5 message edits per 5 s in a channel; one every 1.5 s leaves room for the final one.
STREAM_EDIT_EVERY_S = 1.5
STREAM_PIECE = -1  # the nonce index of the message an answer streams into (its pieces are 0, 1, …)


class DiscordChannel(Channel):
    platform = "discord"
    feedback_controls = True  # 👍 Done / 👎 Rework buttons under each answer's last piece (`buttons`)
    cards = True  # the trip's embed with the first piece of an answer that changed it (`embed`)
    streams = True  # one message edited as the answer grows (`start_stream`)
    stream_every_s = STREAM_EDIT_EVERY_S

    def __init__(self, client: discord.Client, *, translate: Callable[[discord.Message], Inbound | None]) -> None:
        self.client = client
        self.translate = translate  # the live path's filters and ids, for history read back
        self.typing_every_s = TYPING_EVERY_S
        self._edited_at: OrderedDict[int, float] = OrderedDict()  # channel id -> its last stream edit (loop time)

    def _messageable(self, inbound: Inbound) -> tuple[discord.PartialMessageable, discord.PartialMessage | None]:
        where = inbound.reply_to
        if not where.get("channel_id"):
            raise PlaceGone(f"message {inbound.message_id} has no stored Discord destination")
        guild_id = int(where["guild_id"]) if where.get("guild_id") else None
        channel = self.client.get_partial_messageable(int(where["channel_id"]), guild_id=guild_id)
        # In a server the first piece replies to the question; in a DM it stands alone.
        reference = channel.get_partial_message(int(where["message_id"])) if guild_id and where.get("message_id") else None
        return channel, reference

    def _follow_up(self, inbound: Inbound) -> discord.Webhook | None:
        """The interaction's follow-up webhook, for an answer to `/trip plan` (None otherwise)."""
        where = inbound.reply_to
        if not where.get("interaction_token"):
            return None
        return discord.Webhook.partial(int(where["application_id"]), where["interaction_token"], client=self.client)

    def render(self, text: str) -> list[str]:
        return render(text)

    async def show_progress(self, inbound: Inbound) -> asyncio.Task[None] | None:
        if self._follow_up(inbound) is not None:
            return None  # the deferral already shows "thinking…"
        channel, _reference = self._messageable(inbound)
        return asyncio.create_task(self._keep_typing(channel), name=f"typing-{inbound.message_id}")

    async def clear_progress(self, inbound: Inbound, progress: Any) -> None:
        if isinstance(progress, asyncio.Task):
            progress.cancel()

    async def note(self, inbound: Inbound, text: str, *, progress: Any = None) -> None:
        await self.clear_progress(inbound, progress)
        webhook = self._follow_up(inbound)
        if webhook is not None:
            try:
                await webhook.send(text, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as err:
                log.error("Could not send a note as an interaction follow-up (%s)", err.status)
            return
        channel, _reference = self._messageable(inbound)
        try:
            await channel.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.error("Could not send a note in channel %s (%s)", channel.id, err.status)

    def can_stream(self, inbound: Inbound, progress: Any) -> bool:
        return self._follow_up(inbound) is None

    async def start_stream(self, inbound: Inbound, progress: Any, update: StreamUpdate) -> str | None:
        """The answer's first steps or words as a message (a reply to the question in a server),
        which edits then grow; an answer to `/trip plan` is posted whole as follow-ups."""
        if self._follow_up(inbound) is not None:
            return None
        channel, reference = self._messageable(inbound)
        extra: dict[str, Any] = {}
        if reference is not None:
            extra = {"reference": reference.to_reference(fail_if_not_exists=False), "mention_author": False}
        try:
            sent = await channel.send(
                stream_content(update), allowed_mentions=NO_MENTIONS, nonce=answer_nonce(inbound.message_id, STREAM_PIECE), **extra
            )
        except discord.HTTPException as err:
            log.warning("Could not start streaming an answer in channel %s (%s %s)", channel.id, err.status, err.text)
            return None
        return answer_ref(sent.channel.id, sent.id)

    async def append_stream(self, inbound: Inbound, stream: str, update: StreamUpdate) -> bool:
        """Edit the streamed message, unless the channel had an edit less than `stream_every_s` ago
        (two answers streaming in one server channel share its edit budget): skipped, the next call
        carries the whole text anyway."""
        channel_id = int(stream.split(":")[1])
        now = asyncio.get_running_loop().time()
        if now - self._edited_at.get(channel_id, float("-inf")) < self.stream_every_s * 0.9:
            return False
        self._edited_at[channel_id] = now
        self._edited_at.move_to_end(channel_id)
        while len(self._edited_at) > 10_000:
            self._edited_at.popitem(last=False)
        try:
            await self._streamed(stream).edit(content=stream_content(update), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.warning("Could not grow a streamed answer (%s %s)", err.status, err.text)
            return False
        return True

    def _streamed(self, stream: str) -> discord.PartialMessage:
        _platform, channel_id, message_id = stream.split(":")
        return self.client.get_partial_messageable(int(channel_id)).get_partial_message(int(message_id))

    async def _finish_stream(self, stream: str, text: str, extra: dict[str, Any]) -> str | None:
        """The streamed message becomes the answer's first piece (its final words, the card and the
        buttons); None when it is gone (deleted meanwhile), so the piece is sent anew."""
        try:
            await self._streamed(stream).edit(content=text, allowed_mentions=NO_MENTIONS, **extra)
        except discord.NotFound:
            log.info("The streamed answer was deleted; sending its first piece anew")
            return None
        except discord.HTTPException as err:
            if err.code in GONE_CODES:
                raise PlaceGone(f"Discord error {err.code}: {err.text}") from None
            log.error("Could not finish a streamed answer (%s %s); sending its first piece anew", err.status, err.text)
            try:
                await self._streamed(stream).delete()
            except discord.HTTPException:
                return ""  # neither edited nor deleted: posting again would show it twice; retried later
            return None
        return stream

    async def post(
        self, inbound: Inbound, part: int, text: str, *, progress: Any = None, controls: bool = False,
        card: TripCard | None = None, stream: str | None = None,
    ) -> str | None:
        webhook = self._follow_up(inbound)
        if webhook is not None:  # `/trip plan`: no buttons on follow-ups (`/trip end` closes the trip)
            return await self._post_follow_up(webhook, part, text, card)
        channel, reference = self._messageable(inbound)
        nonce = answer_nonce(inbound.message_id, part)
        extra: dict[str, Any] = {"view": feedback_view()} if controls else {}
        if card is not None:
            extra["embed"] = trip_embed(card)
        if part == 0 and stream == PENDING_STREAM:
            # A process died while starting a stream: its nonce gets Discord's message back if it
            # was made (a new one otherwise), and an edit makes it the answer's first piece.
            nonce = answer_nonce(inbound.message_id, STREAM_PIECE)
        elif part == 0 and stream is not None:
            finished = await self._finish_stream(stream, text, extra)
            if finished is not None:
                return finished or None
        try:
            if reference is not None and part == 0:
                # A reply to a message deleted meanwhile is sent as a plain message: without this,
                # Discord refuses it (400) and the answer would be retried for days.
                sent = await channel.send(
                    text,
                    reference=reference.to_reference(fail_if_not_exists=False),
                    mention_author=False,
                    allowed_mentions=NO_MENTIONS,
                    nonce=nonce,
                    **extra,
                )
            else:
                sent = await channel.send(text, allowed_mentions=NO_MENTIONS, nonce=nonce, **extra)
        except discord.HTTPException as err:
            if err.code in GONE_CODES:
                raise PlaceGone(f"Discord error {err.code}: {err.text}") from None
            log.error("Could not send piece %d of an answer in channel %s (%s %s)", part + 1, channel.id, err.status, err.text)
            return None
        if part == 0 and stream == PENDING_STREAM and sent.content != text:
            return await self._finish_stream(answer_ref(sent.channel.id, sent.id), text, extra) or None
        return answer_ref(sent.channel.id, sent.id)

    @staticmethod
    async def _post_follow_up(webhook: discord.Webhook, part: int, text: str, card: TripCard | None) -> str | None:
        """One piece as a follow-up: the first replaces the "thinking…" of the deferral. Follow-ups
        take no nonce, so a worker killed between sending and recording may leave one piece twice."""
        extra: dict[str, Any] = {"embed": trip_embed(card)} if card is not None else {}
        try:
            sent = await webhook.send(text, allowed_mentions=NO_MENTIONS, wait=True, **extra)
        except discord.HTTPException as err:
            if err.code in GONE_CODES:
                raise PlaceGone(f"Discord error {err.code}: {err.text}") from None
            log.error("Could not send piece %d of an answer as a follow-up (%s %s)", part + 1, err.status, err.text)
            return None
        return answer_ref(sent.channel.id, sent.id)

    async def _keep_typing(self, channel: discord.abc.Messageable) -> None:
        """Show 'typing…' until cancelled, renewed before Discord clears it; a failure here must never
        cost the answer, so it is only logged."""
        while True:
            try:
                await channel.typing()
            except discord.HTTPException as err:
                log.debug("Typing indicator failed (%s); carrying on", err.status)
            await asyncio.sleep(self.typing_every_s)

    # -- catch-up -----------------------------------------------------------------------------------

    def catches_up(self, place: Inbound) -> bool:
        """Only places whose events this process's shards receive (DMs: shard 0), so processes
        running other shards do not read, and race for, the same history."""
        shard_ids = getattr(self.client, "shard_ids", None)  # AutoShardedClient only
        count = getattr(self.client, "shard_count", None)
        if not shard_ids or not count:
            return True
        guild_id = place.reply_to.get("guild_id")
        shard = 0 if not guild_id else (int(guild_id) >> 22) % count
        return shard in shard_ids

    async def read_after(self, last: Inbound, *, limit: int) -> AsyncIterator[Inbound]:
        where = last.reply_to
        try:
            channel_id = int(where["channel_id"])
            after = int(where.get("message_id") or last.message_id.removeprefix("discord:"))
            guild_id = int(where["guild_id"]) if where.get("guild_id") else None
        except (KeyError, TypeError, ValueError):
            log.debug("Message %s has no usable Discord place; not caught up", last.message_id)
            return
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            async for message in channel.history(after=discord.Object(id=after), oldest_first=True, limit=limit):
                inbound = self.translate(message)
                if inbound is not None:
                    yield inbound
        except discord.HTTPException as err:  # e.g. 403/404: removed from the server, channel gone
            log.warning("Could not read channel %s to catch up (%s %s); skipping it", channel_id, err.status, err.text)

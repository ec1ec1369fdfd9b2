"""Slack's status line ("Trip Planner is planning your trip…") instead of a placeholder, in DMs.

`assistant.threads.setStatus` shows a status with rotating loading messages under a thread of a DM
(an assistant or agent thread, or a top-level DM message, whose own ts names its thread). Slack
clears it when the app replies in that thread, when the status is set to "", or after two minutes
without a message. Our answer in a plain DM is not a reply in that thread, so the status is cleared
explicitly right after the answer's first part is out (and again, harmlessly, when the turn ends).

Where a status cannot be shown (a channel mention: setStatus is for DMs) or Slack refuses it, the
placeholder message stays the progress indicator. After a crash nothing needs remembering: the
recovery sweep treats every DM answer as possibly under a status, and its post clears it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trip_planner.core import replies
from trip_planner.core.channel import Inbound

log = logging.getLogger(__name__)


UPDATE_EVERY_S = 1.0  # at most one status change a second per thread (the latest activity wins)


@dataclass
class StatusShown:
    """A status line (possibly) shown under `thread_ts` of DM `channel`: the progress handle.

    While the turn runs the line follows what the planner does (`update_status`): changes are
    coalesced to one a second, the latest winning, and sent one at a time under `lock`, which the
    clear also takes, so a change sent just before the answer can never land after its clear and
    leave a stale line behind."""

    channel: str
    thread_ts: str
    cleared: bool = False
    streaming: bool = False  # the answer streams in the thread now: its steps say what happens
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: str | None = None
    changed_at: float = field(default_factory=time.monotonic)
    sender: asyncio.Task[None] | None = None


def status_place(inbound: Inbound, message_ts: str) -> StatusShown | None:
    """Where a status for the answer to `inbound` goes: DMs only (channel ids starting with D), under
    the message's thread, or the message itself when it is top-level."""
    channel = str(inbound.reply_to.get("channel") or "")
    if not channel.startswith("D"):
        return None
    return StatusShown(channel=channel, thread_ts=str(inbound.reply_to.get("thread_ts") or message_ts))


async def show_status(client: AsyncWebClient, shown: StatusShown) -> bool:
    """Set the status with its loading messages; False when Slack would not (use a placeholder)."""
    try:
        await client.assistant_threads_setStatus(
            channel_id=shown.channel,
            thread_ts=shown.thread_ts,
            status=replies.STATUS,
            loading_messages=list(replies.LOADING_MESSAGES),
        )
    except SlackApiError as err:
        error = err.response.get("error") if err.response is not None else None
        log.info("Slack would not show a status in %s (%s); posting a placeholder instead", shown.channel, error)
        return False
    except (aiohttp.ClientError, asyncio.TimeoutError) as err:
        log.warning("Could not set a status in %s (%s); posting a placeholder instead", shown.channel, type(err).__name__)
        return False
    shown.changed_at = time.monotonic()  # the loading messages get their second before a change
    return True


def update_status(client: AsyncWebClient, shown: StatusShown, status: str, *, every_s: float = UPDATE_EVERY_S) -> None:
    """Say what the planner is doing now (e.g. "is checking hotels in Kyoto…"), without blocking the
    turn: the change is sent by a background task, at most one a second, the latest winning."""
    if shown.cleared or shown.streaming:
        return
    shown.pending = status
    if shown.sender is None or shown.sender.done():
        shown.sender = asyncio.create_task(_send_updates(client, shown, every_s), name=f"slack-status-{shown.channel}")


async def _send_updates(client: AsyncWebClient, shown: StatusShown, every_s: float) -> None:
    while shown.pending is not None and not shown.cleared:
        wait = shown.changed_at + every_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        async with shown.lock:
            status, shown.pending = shown.pending, None
            if shown.cleared or shown.streaming or status is None:
                return
            try:
                await client.assistant_threads_setStatus(channel_id=shown.channel, thread_ts=shown.thread_ts, status=status)
            except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
                log.info("Could not change the status in %s (%s); the loading messages stay", shown.channel, type(err).__name__)
            shown.changed_at = time.monotonic()


async def clear_status(client: AsyncWebClient, shown: StatusShown) -> None:
    """Clear the status (once per handle), after any change being sent; a failure only leaves it to
    Slack's two-minute timeout."""
    if shown.cleared:
        return
    shown.cleared = True
    async with shown.lock:
        try:
            await client.assistant_threads_setStatus(channel_id=shown.channel, thread_ts=shown.thread_ts, status="")
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            log.warning("Could not clear the status in %s (%s); Slack drops it within two minutes", shown.channel, type(err).__name__)

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
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trip_planner.core import replies
from trip_planner.core.channel import Inbound

log = logging.getLogger(__name__)


@dataclass
class StatusShown:
    """A status line (possibly) shown under `thread_ts` of DM `channel`: the progress handle."""

    channel: str
    thread_ts: str
    cleared: bool = False


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
    return True


async def clear_status(client: AsyncWebClient, shown: StatusShown) -> None:
    """Clear the status (once per handle); a failure only leaves it to Slack's two-minute timeout."""
    if shown.cleared:
        return
    shown.cleared = True
    try:
        await client.assistant_threads_setStatus(channel_id=shown.channel, thread_ts=shown.thread_ts, status="")
    except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
        log.warning("Could not clear the status in %s (%s); Slack drops it within two minutes", shown.channel, type(err).__name__)

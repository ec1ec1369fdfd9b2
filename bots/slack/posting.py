"""Posting to Slack exactly once, even when Slack fails after it has posted.

`chat.postMessage` has no idempotency key. A 500 or a dropped connection can come *after* Slack
stored the message, so retrying blindly (what slack_sdk's server-error and connection-error retry
handlers do) can post an answer twice. Here those handlers retry every method except
`chat.postMessage`; our posts carry Slack message metadata naming the inbound message and the part
of the answer they are, and after an ambiguous failure we look for that metadata in the channel or
thread before posting again. The recovery sweep uses the same lookup, so an answer that was posted
just before a crash is found (and a "Planning…" placeholder it left is finished) instead of posted
again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.models.messages.chunk import Chunk
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.config import SlackConfig
from trip_planner.core.channel import PlaceGone

log = logging.getLogger(__name__)

POST_EVENT_TYPE = "trip_planner_post"
PLACEHOLDER_PART = "placeholder"
# In `find`'s result: the oldest message of ours in the place since the inbound one that carries no
# metadata of ours, which can only be a stream a crash cut before its ref was stored.
UNTAGGED = "untagged"
# After an ambiguous failure: look, then post again, at most this many more times.
AMBIGUOUS_RETRIES = 2
_NOT_IDEMPOTENT = ("/chat.postMessage",)


def _idempotent(request: HttpRequest) -> bool:
    return not request.url.rstrip("/").endswith(_NOT_IDEMPOTENT)


class _NeverRepostMixin:
    """Declines to retry `chat.postMessage` (see the module docstring); other methods as the base."""

    async def _can_retry_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None
    ) -> bool:
        return _idempotent(request) and await super()._can_retry_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class _ServerErrorRetry(_NeverRepostMixin, AsyncServerErrorRetryHandler):
    pass


class _ConnectionErrorRetry(_NeverRepostMixin, AsyncConnectionErrorRetryHandler):
    pass


def build_client(config: SlackConfig) -> AsyncWebClient:
    """One Web API client with retries: 429 honouring Retry-After (Slack did nothing, so every method
    is safe), transient 5xx and dropped connections for every method but `chat.postMessage`.

    Bolt copies base_url and these handlers into every per-request client, so `say`/`client` in
    listeners retry the same way.
    """
    return AsyncWebClient(
        token=config.bot_token,
        base_url=config.api_url,
        retry_handlers=[
            _ConnectionErrorRetry(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=4),
            _ServerErrorRetry(max_retry_count=2),
        ],
    )


@dataclass(frozen=True)
class PostTag:
    """Which inbound message a post answers (`message_key`), which part of the reply it is, and the
    inbound message's ts: nothing we post for it can be older, so lookups start there."""

    message_key: str
    part: str
    since_ts: str

    def metadata(self) -> dict[str, Any]:
        return {"event_type": POST_EVENT_TYPE, "event_payload": {"message_key": self.message_key, "part": self.part}}


# Errors after which reading or posting in a place cannot succeed later either.
PLACE_GONE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found", "account_inactive"})


class SlackPoster:
    """Posts, updates and deletes the bot's messages; failures are logged and returned as None."""

    def __init__(self, client: AsyncWebClient, *, retry_pause_s: float = 1.0) -> None:
        self.client = client
        self.retry_pause_s = retry_pause_s
        self.find_page_size = 200
        self.find_pages = 5
        self.bot_id: str | None = None  # set once auth.test has named the bot
        self.bot_user_id: str | None = None

    async def post(
        self, channel: str, thread_ts: str | None, text: str, tag: PostTag, *, blocks: list[dict[str, Any]] | None = None
    ) -> str | None:
        """Post one message (mrkdwn, no link parsing, nobody pinged) once; its ts, or None. With
        `blocks` Slack shows those and `text` is the plain-text fallback (notifications, search)."""
        for attempt in range(AMBIGUOUS_RETRIES + 1):
            try:
                result = await self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text=text,
                    mrkdwn=True,
                    parse="none",
                    link_names=False,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=tag.metadata(),
                    blocks=blocks,
                )
                return str(result["ts"])
            except SlackApiError as err:
                status = err.response.status_code if err.response is not None else 0
                if status < 500:
                    log.error("Slack chat.postMessage failed in %s: %s", channel, err.response.get("error") if err.response is not None else err)
                    return None
                log.warning("Slack chat.postMessage answered %s in %s; checking whether it posted", status, channel)
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                log.warning("Slack chat.postMessage failed in %s (%s); checking whether it posted", channel, type(err).__name__)
            await asyncio.sleep(self.retry_pause_s * (attempt + 1))
            try:
                found = await self.find(channel, thread_ts, tag.message_key, since_ts=tag.since_ts)
            except PlaceGone as gone:
                log.error("Cannot post part %s of the reply to %s: %s", tag.part, tag.message_key, gone)
                return None
            if found is None:
                # Unknown whether Slack has it: posting again could double it. Unmarked, the answer
                # goes to the recovery sweep, which looks before it posts.
                return None
            if tag.part in found:
                log.info("Slack had posted part %s of the reply to %s after all", tag.part, tag.message_key)
                return found[tag.part]
        log.error("Slack would not take part %s of the reply to %s", tag.part, tag.message_key)
        return None

    async def find(self, channel: str, thread_ts: str | None, message_key: str, *, since_ts: str) -> dict[str, str] | None:
        """The bot's posts for `message_key` in the place (part -> ts), or None if Slack cannot say.

        Reads every message since the inbound one, page by page (at most `find_pages` pages of
        `find_page_size`): a busy DM or thread can hold more than one page since then.
        """
        found: dict[str, str] = {}
        cursor: str | None = None
        for _page in range(self.find_pages):
            try:
                if thread_ts is not None:
                    result = await self.client.conversations_replies(
                        channel=channel, ts=thread_ts, oldest=since_ts, include_all_metadata=True,
                        limit=self.find_page_size, cursor=cursor,
                    )
                else:
                    result = await self.client.conversations_history(
                        channel=channel, oldest=since_ts, include_all_metadata=True,
                        limit=self.find_page_size, cursor=cursor,
                    )
            except SlackApiError as err:
                error = err.response.get("error") if err.response is not None else None
                if error in PLACE_GONE_ERRORS:
                    raise PlaceGone(f"Slack answers {error} for {channel}") from None
                log.warning("Could not read %s to look for the reply to %s: %s", channel, message_key, error or err)
                return None
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                log.warning("Could not read %s to look for the reply to %s: %s", channel, message_key, err)
                return None
            for message in result.get("messages") or []:
                if not self.is_ours(message):
                    continue
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("message_key") == message_key:
                    found[str(payload.get("part"))] = str(message["ts"])
                elif metadata.get("event_type") != POST_EVENT_TYPE and str(message.get("ts")) != since_ts:
                    found[UNTAGGED] = min(found.get(UNTAGGED, str(message["ts"])), str(message["ts"]), key=float)
            cursor = (result.get("response_metadata") or {}).get("next_cursor") or None
            if not result.get("has_more") or cursor is None:
                return found
        log.warning("More than %d messages since %s in %s; looked at those only", self.find_pages * self.find_page_size, message_key, channel)
        return found

    def is_ours(self, message: dict[str, Any]) -> bool:
        """Whether a message read back from Slack was posted by this app's bot."""
        if self.bot_id is not None and message.get("bot_id") == self.bot_id:
            return True
        return self.bot_user_id is not None and message.get("user") == self.bot_user_id

    async def update(
        self, channel: str, ts: str, text: str, *, blocks: list[dict[str, Any]] | None = None, tag: PostTag | None = None
    ) -> bool:
        """Replace a message's text (idempotent, so retried by the client on 5xx); with `tag`, its
        metadata too, so a lookup finds it as that part of the answer."""
        extra: dict[str, Any] = {"blocks": blocks} if blocks is not None else {}
        if tag is not None:
            extra["metadata"] = tag.metadata()
        return await self._call("chat_update", channel=channel, ts=ts, text=text, parse="none", link_names=False, **extra) is not None

    async def start_stream(self, channel: str, thread_ts: str, chunks: list[Chunk]) -> str | None:
        """Start a streamed reply in a thread (`chat.startStream`, tasks as a timeline); its ts, or None."""
        result = await self._call(
            "chat_startStream", channel=channel, thread_ts=thread_ts, chunks=chunks, task_display_mode="timeline"
        )
        return str(result["ts"]) if result is not None else None

    async def append_stream(self, channel: str, ts: str, chunks: list[Chunk]) -> bool:
        if not chunks:
            return True
        return await self._call("chat_appendStream", channel=channel, ts=ts, chunks=chunks) is not None

    async def stop_stream(self, channel: str, ts: str) -> None:
        """End a stream; one that already ended (stopped before a crash, or expired) is fine."""
        try:
            await self.client.chat_stopStream(channel=channel, ts=ts)
        except SlackApiError as err:
            error = err.response.get("error") if err.response is not None else err
            if error != "message_not_in_streaming_state":
                log.warning("Slack chat.stopStream failed in %s: %s", channel, error)
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            log.warning("Slack chat.stopStream failed in %s (%s)", channel, type(err).__name__)

    async def delete(self, channel: str, ts: str) -> bool:
        return await self._call("chat_delete", channel=channel, ts=ts) is not None

    async def _call(self, name: str, **kwargs: Any) -> Any | None:
        try:
            return await getattr(self.client, name)(**kwargs)
        except SlackApiError as err:
            log.error("Slack %s failed: %s", name, err.response.get("error") if err.response is not None else err)
        except Exception:
            log.exception("Slack %s failed", name)
        return None

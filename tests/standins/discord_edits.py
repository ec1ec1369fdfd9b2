"""The Discord stand-in's Edit Message: PATCH /channels/{channel}/messages/{message}, as Discord does it.

A mixin of `DiscordStandIn`. Modelled on Discord's documentation and its observed behaviour:
- only the message's author may edit it (50005 "Cannot edit a message authored by another user");
  an unknown message is 404 with code 10008;
- the body's fields replace the message's (content, embeds, components, allowed_mentions); content
  over 2,000 characters or embeds over their limits are refused with 50035; `edited_timestamp` is set;
- edits share a per-channel bucket of 5 per 5 seconds: past it, 429 with a JSON `retry_after` (and
  the `X-RateLimit-*` headers discord.py reads), and the edit is not applied;
- the channel sees MESSAGE_UPDATE over the gateway.
Every applied edit is kept in `edits` (channel id, message id, content, monotonic time) for tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from typing import Any

from aiohttp import web

from tests.standins.discord_embeds import embeds_error

EDITS_PER_WINDOW, WINDOW_S = 5, 5.0


class DiscordEditsMixin:
    """Needs `bot_id`, `channel_messages`, `channel_guild`, `dispatch` and `_background` from `DiscordStandIn`."""

    edits: list[tuple[int, int, str, float]]
    refused_edits: int
    _edit_times: dict[int, deque[float]]

    def _init_edits(self) -> None:
        self.edits = []
        self.refused_edits = 0  # edits answered with 429
        self._edit_times = {}

    def _edit_message(self, channel_id: int, message_id: int, body: dict[str, Any]) -> web.Response:
        from tests.standins.discord import _json  # (a cycle at import time otherwise)

        message = self.channel_messages.get(channel_id, {}).get(message_id)  # type: ignore[attr-defined]
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        if str(message["author"]["id"]) != str(self.bot_id):  # type: ignore[attr-defined]
            return _json({"message": "Cannot edit a message authored by another user", "code": 50005}, status=403)
        now = time.monotonic()
        recent = self._edit_times.setdefault(channel_id, deque())
        while recent and now - recent[0] >= WINDOW_S:
            recent.popleft()
        if len(recent) >= EDITS_PER_WINDOW:
            self.refused_edits += 1
            retry_after = round(WINDOW_S - (now - recent[0]), 3)
            return _json(
                {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                status=429,
                headers={"Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Limit": str(EDITS_PER_WINDOW),
                         "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(retry_after),
                         "X-RateLimit-Bucket": f"edit-{channel_id}", "X-RateLimit-Scope": "user"},
            )
        if len(body.get("content") or "") > 2000 or embeds_error(body):
            return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
        recent.append(now)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        message["edited_timestamp"] = dt.datetime.now(dt.timezone.utc).isoformat()
        self.edits.append((channel_id, message_id, str(message.get("content") or ""), now))
        guild_id = self.channel_guild.get(channel_id)  # type: ignore[attr-defined]
        task = asyncio.get_running_loop().create_task(self._echo_update(dict(message), guild_id))
        self._background.add(task)  # type: ignore[attr-defined]
        task.add_done_callback(self._background.discard)  # type: ignore[attr-defined]
        return _json(message)

    async def _echo_update(self, data: dict[str, Any], guild_id: int | None) -> None:
        from tests.standins.discord import DIRECT_MESSAGES, GUILD_MESSAGES  # (a cycle at import time otherwise)

        try:
            await self.dispatch(  # type: ignore[attr-defined]
                "MESSAGE_UPDATE", data, guild_id=guild_id, intent=GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES
            )
        except (AssertionError, ConnectionError):
            pass  # no gateway session to tell

"""The Slack stand-in's AI-app calls: `assistant.threads.setStatus`, and interactivity requests.

A mixin of `SlackStandIn` (kept apart so the base stays readable). What it models, from Slack's docs:
- `assistant.threads.setStatus(channel_id, thread_ts, status, loading_messages)`: a status line per
  thread; an empty `status` clears it, and so does the app's own reply in that thread. Slack drops a
  status after two minutes without a message; tests call `expire_statuses` to stand for that.
- Interactivity: a click on a block element reaches the app as a signed POST to the app's request
  URL, form-encoded with one field, `payload`, holding the JSON of a `block_actions` payload (user,
  team, container, channel, the message as shown, a `response_url`, and the actions). A person can
  only click what the message shows, so building a click for a button that is not there fails.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class StatusLine:
    """What a person sees under a thread while the app works: `status` and rotating loading messages."""

    status: str
    loading_messages: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # every status set here, cleared ones included


class SlackAIMixin:
    """Needs `team_id`, `port`, `messages`, `bot_user_id` and `post_signed` from `SlackStandIn`."""

    team_id: str
    port: int
    messages: dict[tuple[str, str], dict[str, Any]]

    statuses: dict[tuple[str, str], StatusLine]

    suggested_prompts: dict[str, dict[str, Any]]

    def _init_ai(self) -> None:
        self.statuses = {}  # (channel, thread_ts) -> the status line shown now
        self.suggested_prompts = {}  # DM channel -> {"title", "prompts"} set last

    # -- assistant.threads.setSuggestedPrompts ----------------------------------------------------

    def _api_assistant_threads_setSuggestedPrompts(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack: a DM channel, 1-4 prompts each with a title and a message (JSON text when the
        call is form-encoded), an optional title; thread_ts optional in a DM since agent view."""
        channel = str(args.get("channel_id") or "")
        if not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        prompts = args.get("prompts")
        if isinstance(prompts, str):
            prompts = json.loads(prompts)
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            return {"ok": False, "error": "invalid_arguments"}
        if any(not isinstance(p, dict) or not p.get("title") or not p.get("message") for p in prompts):
            return {"ok": False, "error": "invalid_arguments"}
        self.suggested_prompts[channel] = {"title": args.get("title"), "prompts": prompts}
        return {"ok": True}

    # -- assistant.threads.setStatus --------------------------------------------------------------

    def _api_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not thread_ts:
            return {"ok": False, "error": "invalid_thread_ts"}
        if "status" not in args:
            return {"ok": False, "error": "invalid_arguments"}
        status = str(args["status"])
        loading = args.get("loading_messages") or []
        if isinstance(loading, str):  # form-encoded calls send the array as a JSON string
            loading = json.loads(loading)
        if len(loading) > 10:
            return {"ok": False, "error": "invalid_arguments"}
        key = (str(channel), str(thread_ts))
        line = self.statuses.get(key) or StatusLine(status="")
        line.history.append(status)
        if status:
            line.status, line.loading_messages = status, list(loading)
            self.statuses[key] = line
        else:
            self.statuses.pop(key, None)
        return {"ok": True}

    def status_shown(self, channel: str, thread_ts: str) -> StatusLine | None:
        return self.statuses.get((channel, thread_ts))

    def _replied(self, channel: str, thread_ts: str | None) -> None:
        """The app posted in a thread: Slack clears that thread's status."""
        if thread_ts:
            self.statuses.pop((channel, thread_ts), None)

    def expire_statuses(self) -> None:
        """Slack's two-minute timeout passed for every status shown."""
        self.statuses.clear()

    # -- Block Kit, as far as our messages use it ---------------------------------------------------

    @staticmethod
    def blocks_error(blocks: list[dict[str, Any]]) -> str | None:
        """Slack's `invalid_blocks` for what it would refuse: over 50 blocks, a section without text or
        fields, with text over 3,000 characters or over 10 fields (each at most 2,000), a header that
        is not plain text of at most 150 characters, a context_actions block with no or over 5
        elements, or feedback buttons without both buttons (each with text of at most 75 characters
        and a value)."""
        if len(blocks) > 50:
            return "invalid_blocks"
        for block in blocks:
            kind = block.get("type")
            if kind == "section":
                text = (block.get("text") or {}).get("text") or ""
                fields = block.get("fields") or []
                if (not text and not fields) or len(text) > 3000 or len(fields) > 10:
                    return "invalid_blocks"
                if any(not f.get("text") or len(f["text"]) > 2000 for f in fields):
                    return "invalid_blocks"
            elif kind == "header":
                title = block.get("text") or {}
                if title.get("type") != "plain_text" or not title.get("text") or len(title["text"]) > 150:
                    return "invalid_blocks"
            elif kind == "context_actions":
                elements = block.get("elements") or []
                if not 1 <= len(elements) <= 5:
                    return "invalid_blocks"
                for element in elements:
                    if element.get("type") != "feedback_buttons":
                        continue
                    for side in ("positive_button", "negative_button"):
                        button = element.get(side) or {}
                        label = (button.get("text") or {}).get("text") or ""
                        if not label or len(label) > 75 or not button.get("value"):
                            return "invalid_blocks"
        return None

    # -- interactivity ----------------------------------------------------------------------------

    def block_actions(self, *, user: str, channel: str, ts: str, value: str) -> dict[str, Any]:
        """The `block_actions` payload of `user` clicking the feedback button valued `value` under
        the bot's message `ts`, as Slack builds it. Fails if the message shows no such button."""
        message = self.messages.get((channel, ts))
        if message is None:
            raise AssertionError(f"no bot message {ts} in {channel} to click on")
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if block.get("type") != "context_actions" or element.get("type") != "feedback_buttons":
                    continue
                for button in (element.get("positive_button"), element.get("negative_button")):
                    if button and button.get("value") == value:
                        action = {
                            "type": "feedback_buttons",
                            "action_id": element.get("action_id"),
                            "block_id": block.get("block_id"),
                            "text": button.get("text"),
                            "value": value,
                            "action_ts": f"{time.time():.6f}",
                        }
                        return self._payload(user, channel, message, action)
        raise AssertionError(f"message {ts} in {channel} shows no feedback button valued {value!r}")

    def _payload(self, user: str, channel: str, message: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
        container: dict[str, Any] = {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False}
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        shown = {k: v for k, v in message.items() if k != "metadata"}  # metadata is not sent to clicks
        return {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0APP00001",
            "token": "legacy-verification-token",
            "container": container,
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
            "team": {"id": self.team_id, "domain": "standin"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "directmessage" if channel.startswith("D") else "general"},
            "message": shown,
            "state": {"values": {}},
            "response_url": f"http://127.0.0.1:{self.port}/api/response_url",
            "actions": [action],
        }

    async def send_action(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        """POST an interactivity payload as Slack does: form-encoded `payload=`, signed."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post_signed(url, body, content_type="application/x-www-form-urlencoded")  # type: ignore[attr-defined, no-any-return]

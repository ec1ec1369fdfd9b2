"""Slack's feedback buttons under an answer: the blocks, and the click as the core's feedback.

The answer's last part is posted with its mrkdwn in section blocks followed by a `context_actions`
block holding one `feedback_buttons` element (`card_blocks.part_blocks`); `text` stays the same
mrkdwn, as the plain-text fallback Slack uses for notifications and search (the stored answer is
unchanged). A click arrives
as a signed interactivity request (`block_actions`); it is acknowledged at once (Slack wants the ack
within 3 s, and the listener runs before Bolt answers) and handled in a tracked task through the
same core path as a 👍/👎 reaction (`SlackListeners.feedback`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import (
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
)

from bots.slack.identity import team_of
from trip_planner.core import replies

if TYPE_CHECKING:
    from bots.slack.listeners import SlackListeners

log = logging.getLogger(__name__)

ACTION_ID = "trip_feedback"
# Button value -> the reaction it stands for (the core reads both the same way).
VALUES = {"positive": "+1", "negative": "-1"}


def feedback_block() -> dict[str, Any]:
    """The feedback buttons, under an answer's last part (see `card_blocks.part_blocks`). A fresh
    block_id each time, as Slack asks for updated messages."""
    buttons = FeedbackButtonsElement(
        action_id=ACTION_ID,
        positive_button=FeedbackButtonObject(text="👍", value="positive", accessibility_label=replies.DONE_HINT),
        negative_button=FeedbackButtonObject(text="👎", value="negative", accessibility_label=replies.REWORK_HINT),
    )
    return ContextActionsBlock(elements=[buttons], block_id=f"feedback-{uuid.uuid4().hex[:12]}").to_dict()


class SlackFeedback:
    """The `block_actions` listener for our feedback buttons (registered before the catch-all)."""

    def __init__(self, app: AsyncApp, listeners: SlackListeners) -> None:
        self.listeners = listeners
        app.action(ACTION_ID)(self._on_click)

    async def _on_click(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: dict[str, Any]) -> None:
        await ack()  # first: Slack shows an error to the person if this takes over 3 s
        actions = body.get("actions") or []
        emoji = VALUES.get(str(actions[0].get("value"))) if actions else None
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        user = (body.get("user") or {}).get("id")
        if emoji is None or not channel or not ts or not user or container.get("is_ephemeral"):
            log.debug("Ignoring a feedback click without a message, person or known value")
            return
        message = body.get("message") or {}
        thread: str | None | bool = message.get("thread_ts") if message else False
        if thread == ts:
            thread = None  # the answer is a thread's parent (never ours, but be exact)
        team = team_of(context, body)

        async def click() -> None:
            outcome = await self.listeners.feedback(team, channel, user, ts, emoji, button=True, thread=thread)
            if outcome == "not_owner":
                await respond(text=replies.NOT_YOUR_TRIP, response_type="ephemeral", replace_original=False)

        self.listeners.inflight.spawn(click(), f"slack-feedback-{channel}-{ts}-{user}")

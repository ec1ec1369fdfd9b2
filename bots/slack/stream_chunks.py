"""A streamed answer's update as Slack's stream chunks (slack-sdk's models, `chat.startStream` /
`chat.appendStream`): each new or finished step as a `task_update` (same id, so Slack updates it in
place), then the new words as `markdown_text`. Everything the model wrote is escaped as in a post, so
no chunk can ping anyone or carry markup of its own."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk.models.messages.chunk import Chunk, MarkdownTextChunk, TaskUpdateChunk

from bots.slack.formatting import escape
from trip_planner.core.channel import StreamStep


def stream_chunks(steps: Iterable[StreamStep], words: str) -> list[Chunk]:
    chunks: list[Chunk] = [
        TaskUpdateChunk(id=step.id, title=escape(step.title), status="complete" if step.done else "in_progress")
        for step in steps
    ]
    if words:
        chunks.append(MarkdownTextChunk(text=escape(words)))
    return chunks

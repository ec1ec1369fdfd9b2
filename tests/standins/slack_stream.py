"""The Slack stand-in's streamed replies: `chat.startStream`, `chat.appendStream`, `chat.stopStream`.

A mixin of `SlackStandIn`. What it models, from Slack's method pages and slack-sdk's `chat_stream`:
- `chat.startStream(channel, thread_ts, markdown_text?, recipient_team_id?, recipient_user_id?)`
  starts a reply in a thread (a streamed message is always a thread reply in a DM; outside DMs the
  recipient's team and user are required) and returns its `ts`; the app's reply clears the thread's
  status, as a post does;
- both take the new content as `markdown_text` or as `chunks` (JSON text when form-encoded):
  `markdown_text` chunks add words, `task_update` chunks (id, title, status: pending, in_progress,
  complete or error) add or update a task of the timeline by id, `plan_update` sets its title; a
  chunk of another type, or without its fields, is `invalid_chunks`;
- `chat.appendStream(channel, ts, markdown_text | chunks)` adds to it; `chat.stopStream(channel, ts,
  markdown_text?, blocks?, metadata?)` ends it (blocks go at the bottom, metadata is set). Either on a
  message that is not streaming answers `message_not_in_streaming_state`, on an unknown one
  `message_not_found`; `markdown_text` is at most 12,000 characters a call (`msg_too_long`);
- Slack ends a stream left open (`expire_streams` stands for that); `chat.update` works on a message
  once its stream has ended, not while it streams.
Every markdown chunk is kept in order (`stream_chunks`) and every task update (`stream_tasks`), so
tests can read exactly what people saw grow.
"""

from __future__ import annotations

import json
from typing import Any

MARKDOWN_LIMIT = 12_000
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})


class SlackStreamMixin:
    """Needs `team_id`, `bot_user_id`, `bot_id`, `messages`, `next_ts` and `_replied` from `SlackStandIn`."""

    messages: dict[tuple[str, str], dict[str, Any]]
    streaming: set[tuple[str, str]]
    stream_chunks: dict[tuple[str, str], list[str]]

    stream_tasks: dict[tuple[str, str], list[dict[str, Any]]]

    def _init_stream(self) -> None:
        self.streaming = set()  # (channel, ts) of messages streaming now
        self.stream_chunks = {}  # (channel, ts) -> every markdown_text sent to it, in order
        self.stream_tasks = {}  # (channel, ts) -> every task_update sent to it, in order

    @staticmethod
    def _content(args: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]] | str:
        """The words and task updates of a call, or Slack's error for its chunks."""
        words = [str(args["markdown_text"])] if args.get("markdown_text") else []
        tasks: list[dict[str, Any]] = []
        chunks = args.get("chunks") or []
        if isinstance(chunks, str):
            chunks = json.loads(chunks)
        for chunk in chunks:
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if kind == "markdown_text" and isinstance(chunk.get("text"), str):
                words.append(chunk["text"])
            elif kind == "task_update" and chunk.get("id") and chunk.get("title") and chunk.get("status") in TASK_STATUSES:
                tasks.append(chunk)
            elif kind == "plan_update" and chunk.get("title"):
                continue
            else:
                return "invalid_chunks"
        if sum(len(w) for w in words) > MARKDOWN_LIMIT:
            return "msg_too_long"
        return words, tasks

    def _show(self, key: tuple[str, str], words: list[str], tasks: list[dict[str, Any]]) -> None:
        for word in words:
            self.messages[key]["text"] += word
            self.stream_chunks[key].append(word)
        self.stream_tasks[key].extend(tasks)

    def _api_chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = str(args.get("channel") or ""), str(args.get("thread_ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not thread_ts:
            return {"ok": False, "error": "invalid_arguments"}
        if not channel.startswith("D") and not (args.get("recipient_team_id") and args.get("recipient_user_id")):
            return {"ok": False, "error": "invalid_arguments"}
        content = self._content(args)
        if isinstance(content, str):
            return {"ok": False, "error": content}
        if args.get("task_display_mode") not in (None, "timeline", "plan"):
            return {"ok": False, "error": "invalid_arguments"}
        ts = self.next_ts()  # type: ignore[attr-defined]
        message = {
            "type": "message", "user": self.bot_user_id, "bot_id": self.bot_id,  # type: ignore[attr-defined]
            "text": "", "ts": ts, "thread_ts": thread_ts, "team": self.team_id,  # type: ignore[attr-defined]
        }
        key = (channel, ts)
        self.messages[key] = message
        self.streaming.add(key)
        self.stream_chunks[key], self.stream_tasks[key] = [], []
        self._show(key, *content)
        self._replied(channel, thread_ts)  # type: ignore[attr-defined]
        return {"ok": True, "channel": channel, "ts": ts}

    def _streamed(self, args: dict[str, Any]) -> tuple[tuple[str, str], list[str], list[dict[str, Any]]] | str:
        key = (str(args.get("channel") or ""), str(args.get("ts") or ""))
        if key not in self.messages:
            return "message_not_found"
        if key not in self.streaming:
            return "message_not_in_streaming_state"
        content = self._content(args)
        return content if isinstance(content, str) else (key, *content)

    def _api_chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        streamed = self._streamed(args)
        if isinstance(streamed, str):
            return {"ok": False, "error": streamed}
        key, words, tasks = streamed
        if not words and not tasks:
            return {"ok": False, "error": "invalid_arguments"}
        self._show(key, words, tasks)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _api_chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        streamed = self._streamed(args)
        if isinstance(streamed, str):
            return {"ok": False, "error": streamed}
        key, words, tasks = streamed
        message = self.messages[key]
        self._show(key, words, tasks)
        blocks = args.get("blocks")
        if blocks:
            message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else list(blocks)
        metadata = args.get("metadata")
        if metadata:
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.streaming.discard(key)
        return {"ok": True, "channel": key[0], "ts": key[1], "message": message}

    def expire_streams(self) -> None:
        """Slack ended every stream left open (its server-side timeout passed)."""
        self.streaming.clear()

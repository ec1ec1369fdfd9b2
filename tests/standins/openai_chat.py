"""An OpenAI-compatible chat completions stand-in (the API LiteLLM speaks to most providers), on
127.0.0.1: POST /v1/chat/completions answers `answer`, whole or, with `"stream": true`, as Server-Sent
Events the way OpenAI streams: `chat.completion.chunk` objects whose `delta` carries a few words
each, `stream_every_s` apart, a last chunk with `finish_reason: "stop"`, then `data: [DONE]`.
Every request body is kept in `requests`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.standins.serving import serve_locally


class OpenAIChatStandIn:
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.words_per_chunk = 2
        self.stream_every_s = 0.1
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner, self.port = await serve_locally(app, access_log=None)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None) -> bytes:
        body = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n".encode()

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        model = str(body.get("model") or "")
        if not body.get("stream"):
            return web.json_response({
                "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            })
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        words = self.answer.split(" ")
        for start in range(0, len(words), self.words_per_chunk):
            piece = " ".join(words[start:start + self.words_per_chunk]) + (" " if start + self.words_per_chunk < len(words) else "")
            delta = {"role": "assistant", "content": piece} if start == 0 else {"content": piece}
            await response.write(self._chunk(model, delta, None))
            await asyncio.sleep(self.stream_every_s)
        await response.write(self._chunk(model, {}, "stop"))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

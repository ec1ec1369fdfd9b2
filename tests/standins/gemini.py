"""A Gemini REST API stand-in: aiohttp on 127.0.0.1 speaking `models/{model}:generateContent` and
`models/{model}:streamGenerateContent?alt=sse` (Server-Sent Events, one `data: {response JSON}` event
per chunk, as Gemini streams: text a few words a chunk, `stream_every_s` apart, a function call
whole, and the finish reason and usage on the last chunk).

Why a server and not a mock: google-genai, its retry policy and ADK's Gemini class all run for real;
only the far end is ours. Point google-genai at it with `GOOGLE_GEMINI_BASE_URL`.

Behaviour, in order of precedence for each request:
1. `fail(status, times)` queued failures answer with that HTTP status (429 / 500 / 503 ...).
2. `hang = True` holds the request open until the stand-in stops (the caller's timeout must fire).
3. `script` steps, first in first out: `call(name, args)` answers with a function call, `say(text)`
   with text.
4. With an empty script: after a function response, a text summarising the tool results; otherwise a
   short greeting.
Every request body is recorded in `requests`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standins.serving import serve_locally

log = logging.getLogger(__name__)


@dataclass
class Step:
    kind: str  # "call" or "text"
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def call(name: str, args: dict[str, Any]) -> Step:
    return Step("call", name=name, args=args)


def say(text: str) -> Step:
    return Step("text", text=text)


class GeminiStandIn:
    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] = ("gemini-2.5-flash",)) -> None:
        self.api_key = api_key  # when set, GET models/{model} refuses any other key, as Gemini does
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: deque[Step] = deque()
        self.failures: deque[int] = deque()
        self.hang = False
        self.stream_every_s = 0.02  # between streamed chunks
        self.words_per_chunk = 3
        self.streamed = 0  # requests answered as a stream
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, status: int, times: int = 1) -> None:
        self.failures.extend([status] * times)

    def plan(self, *steps: Step) -> None:
        self.script.extend(steps)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{version}/models/{model}:generateContent", self._generate)
        app.router.add_post("/{version}/models/{model}:streamGenerateContent", self._generate)
        app.router.add_get("/{version}/models/{model}", self._get_model)
        self._runner, self.port = await serve_locally(app)

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.failures:
            status = self.failures.popleft()
            names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
            return web.json_response(
                {"error": {"code": status, "message": "stand-in failure", "status": names.get(status, "UNKNOWN")}},
                status=status,
            )
        if self.hang:
            await self._release.wait()
            return web.json_response({"error": {"code": 503, "message": "stopped"}}, status=503)
        if request.match_info["model"].endswith(":streamGenerateContent") or "streamGenerateContent" in request.path:
            return await self._stream(request, self._reply(body))
        return web.json_response(self._reply(body))

    async def _stream(self, request: web.Request, reply: dict[str, Any]) -> web.StreamResponse:
        """The reply as Gemini's SSE chunks: text cut into a few words each, the rest whole."""
        if request.query.get("alt") != "sse":
            return web.json_response({"error": {"code": 400, "message": "stand-in streams SSE only",
                                                "status": "INVALID_ARGUMENT"}}, status=400)
        self.streamed += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        candidate = reply["candidates"][0]
        part = candidate["content"]["parts"][0]
        if "text" in part:
            words = part["text"].split(" ")
            pieces = [" ".join(words[i:i + self.words_per_chunk]) + " " for i in range(0, len(words), self.words_per_chunk)]
            pieces[-1] = pieces[-1].rstrip(" ")
        else:
            pieces = []
        chunks: list[dict[str, Any]] = [
            {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
             "modelVersion": reply["modelVersion"]}
            for piece in pieces
        ] or [{"candidates": [{"content": candidate["content"], "index": 0}], "modelVersion": reply["modelVersion"]}]
        chunks[-1]["candidates"][0]["finishReason"] = "STOP"
        chunks[-1]["usageMetadata"] = reply["usageMetadata"]
        for index, chunk in enumerate(chunks):
            if index:
                await asyncio.sleep(self.stream_every_s)
            await response.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        await response.write_eof()
        return response

    async def _get_model(self, request: web.Request) -> web.Response:
        """models.get: 400 API_KEY_INVALID for a wrong key, 404 for a model it does not serve."""
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if self.api_key is not None and key != self.api_key:
            return web.json_response({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                                "status": "INVALID_ARGUMENT"}}, status=400)
        name = request.match_info["model"]
        if name not in self.models:
            return web.json_response({"error": {"code": 404, "message": f"models/{name} is not found",
                                                "status": "NOT_FOUND"}}, status=404)
        return web.json_response({"name": f"models/{name}", "displayName": f"Stand-in {name}", "version": "001",
                                  "supportedGenerationMethods": ["generateContent"]})

    def _reply(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.script:
            step = self.script.popleft()
            part = {"functionCall": {"name": step.name, "args": step.args}} if step.kind == "call" else {"text": step.text}
        else:
            last = (body.get("contents") or [{}])[-1]
            responses = [p["functionResponse"] for p in last.get("parts", []) if "functionResponse" in p]
            if responses:
                summary = "; ".join(f"{r['name']}: {json.dumps(r.get('response'), sort_keys=True)}" for r in responses)
                part = {"text": f"Here is what I found. {summary}"}
            else:
                part = {"text": "Hello from the Gemini stand-in."}
        return {
            "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "gemini-standin",
        }

    # -- what the tests read ----------------------------------------------------------------------

    @staticmethod
    def system_text(body: dict[str, Any]) -> str:
        instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
        return "\n".join(p.get("text", "") for p in instruction.get("parts", []))

    @staticmethod
    def declared_tools(body: dict[str, Any]) -> set[str]:
        return {d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])}

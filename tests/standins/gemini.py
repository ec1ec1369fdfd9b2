"""A Gemini REST API stand-in: aiohttp on 127.0.0.1 speaking `models/{model}:generateContent`.

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
        app.router.add_get("/{version}/models/{model}", self._get_model)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

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
        return web.json_response(self._reply(body))

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

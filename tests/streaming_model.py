"""A stand-in model that streams: it answers with the person's own words (or a given text), a few
words a chunk, `every_s` apart, as ADK's SSE mode asks of a real model; asked not to stream, it
answers whole. With `hold_after` it stops after that many chunks until its `gate` opens (a turn cut
mid-answer, for crash tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types


def _text(text: str, *, partial: bool = False) -> LlmResponse:
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]), partial=partial or None)


class EchoStreamModel(BaseLlm):
    model: str = "echo-stream"
    every_s: float = 0.05
    words_per_chunk: int = 2
    hold_after: int | None = None
    gate: Any = None  # an asyncio.Event
    answer: str | None = None  # fixed answer instead of the echo

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> AsyncGenerator[LlmResponse, Any]:
        text = self.answer or next(
            ("".join(p.text or "" for p in c.parts or []) for c in reversed(llm_request.contents or []) if c.role == "user"), ""
        )
        if not stream:
            yield _text(text)
            return
        words = text.split(" ")
        for n, start in enumerate(range(0, len(words), self.words_per_chunk)):
            if self.hold_after is not None and n == self.hold_after:
                await self.gate.wait()
            await asyncio.sleep(self.every_s)
            chunk = " ".join(words[start:start + self.words_per_chunk])
            yield _text(chunk + (" " if start + self.words_per_chunk < len(words) else ""), partial=True)
        yield _text(text)


def echo_stream_agent(**model: Any) -> LlmAgent:
    return LlmAgent(name="echo_stream", model=EchoStreamModel(**model), instruction="Repeat the user.")

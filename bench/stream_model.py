"""The benchmarks' stand-in for a streaming model: an answer that takes 2 s, a chunk every 50 ms.

Asked to stream (ADK's SSE mode), it yields partial responses as the chunks come, then the whole
text; asked not to, it waits the 2 s and yields the whole text once, as a real model's
non-streaming call does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types

CHUNKS, CHUNK_EVERY_S = 40, 0.05  # 2 s in all
WORDS = "Lisbon in May is warm and bright; fly in on a weekday, stay in Baixa, and keep a day for Sintra. "


class StreamingModel(BaseLlm):
    model: str = "streaming-standin"

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> AsyncGenerator[LlmResponse, Any]:
        text = ""
        for n in range(CHUNKS):
            await asyncio.sleep(CHUNK_EVERY_S)
            piece = WORDS.split(" ")[n % 20] + " "
            text += piece
            if stream:
                yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=piece)]), partial=True)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text.strip())]))


def streaming_agent() -> LlmAgent:
    return LlmAgent(name="streamer", model=StreamingModel(), instruction="Answer.")

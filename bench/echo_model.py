"""A model that answers at once with a short echo of the message: for benchmarks that measure what
our code and ADK cost (memory, start-up), not what a planner costs."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types


class EchoModel(BaseLlm):
    model: str = "echo"

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> AsyncGenerator[LlmResponse, Any]:
        said = ""
        for content in reversed(llm_request.contents or []):
            if content.role == "user" and content.parts:
                said = " ".join(p.text for p in content.parts if p.text)
                break
        # Token counts as a real model reports them (else ADK's usage accounting warns on every turn).
        usage = types.GenerateContentResponseUsageMetadata(prompt_token_count=len(said), candidates_token_count=10,
                                                           total_token_count=len(said) + 10)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=f"You said: {said[:200]}")]),
                          usage_metadata=usage)


def echo_agent() -> LlmAgent:
    return LlmAgent(name="echo", model=EchoModel(), instruction="Repeat what the person said.")

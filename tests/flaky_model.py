"""A stand-in model for failure tests: the offline planner, except on command words.

"EXPLODE" makes the model raise, "HANG" makes it wait past any deadline; anything else is answered
by the real offline planner, so recovery is checked against real answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from google.adk.models import LlmRequest, LlmResponse

from trip_planner.models.offline import OfflinePlannerModel


def _latest_user_text(llm_request: LlmRequest) -> str:
    for content in reversed(llm_request.contents or []):
        if content.role == "user" and content.parts and any(p.text for p in content.parts):
            return " ".join(p.text for p in content.parts if p.text)
    return ""


class FlakyModel(OfflinePlannerModel):
    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        latest = _latest_user_text(llm_request)
        if "EXPLODE" in latest:
            raise ConnectionError("model backend unavailable")
        if "HANG" in latest:
            await asyncio.sleep(3600)
        async for response in super().generate_content_async(llm_request, stream):
            yield response

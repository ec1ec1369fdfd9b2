"""The benchmarks' stand-in for a paid model: the offline planner, 200 ms a call (network time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.models import LlmRequest, LlmResponse

from trip_planner.models.offline import OfflinePlannerModel

MODEL_DELAY_S = 0.2


class SlowModel(OfflinePlannerModel):
    delay_s: float = MODEL_DELAY_S

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> AsyncGenerator[LlmResponse, Any]:
        await asyncio.sleep(self.delay_s)
        async for response in super().generate_content_async(llm_request, stream):
            yield response

"""Model selection: the embedded offline planner by default, Gemini or LiteLLM when configured."""

from __future__ import annotations

from google.adk.models import BaseLlm

from trip_planner.config import Settings


def build_model(settings: Settings) -> BaseLlm | str:
    if settings.is_offline:
        from trip_planner.models.offline import OfflinePlannerModel

        return OfflinePlannerModel()
    if settings.model.startswith("litellm/"):
        from google.adk.models.lite_llm import LiteLlm

        return LiteLlm(model=settings.model.removeprefix("litellm/"))
    return settings.model

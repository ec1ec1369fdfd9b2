"""Model selection: the embedded offline planner by default, Gemini or LiteLLM when configured.

Why a `Gemini` object rather than the bare model name: the name alone gives google-genai no retry
policy, so one 429 or 503 from the API becomes an apology. `HttpRetryOptions` makes google-genai retry
those with exponential backoff; the runner's turn timeout still bounds the whole turn.
"""

from __future__ import annotations

from google.adk.models import BaseLlm
from google.genai import types

from trip_planner.config import Settings

# Retried statuses: request timeout, rate limit and transient server errors.
RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504]


def default_retry_options() -> types.HttpRetryOptions:
    """Four attempts, 1 s then doubling up to 8 s, with jitter: about 7 s worst case before giving up."""
    return types.HttpRetryOptions(
        attempts=4, initial_delay=1.0, max_delay=8.0, exp_base=2.0, jitter=0.5, http_status_codes=RETRY_STATUS_CODES
    )


def build_model(settings: Settings, *, retry_options: types.HttpRetryOptions | None = None) -> BaseLlm | str:
    """The model every agent of the graph runs on (the concierge and the three specialists share it)."""
    if settings.is_offline:
        from trip_planner.models.offline import OfflinePlannerModel

        return OfflinePlannerModel()
    if settings.model.startswith("litellm/"):
        from google.adk.models.lite_llm import LiteLlm

        return LiteLlm(model=settings.model.removeprefix("litellm/"))
    from google.adk.models import Gemini

    client_kwargs = {"api_key": settings.google_api_key} if settings.google_api_key else None
    return Gemini(model=settings.model, retry_options=retry_options or default_retry_options(), client_kwargs=client_kwargs)

"""Which tracer a process gets, and the environment the opik SDK must see before it is imported.

Nothing here imports opik: a process with tracing off never loads it (importing it starts the SDK's
error reporting), and a process with tracing on gets the privacy defaults set first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from trip_planner.core.tracing.base import NullTracer, Tracer

log = logging.getLogger(__name__)

# The SDK reports its errors to Comet's Sentry and usage analytics to Comet by default. A trip planner
# sends neither unless its operator opts in; an explicit operator value always wins.
QUIET_DEFAULTS: dict[str, str] = {
    "OPIK_SENTRY_ENABLE": "false",
    "OPIK_ANALYTICS_ENABLE": "false",
    # Bounds the SDK's own atexit drain (it has no bound by default) in case flush() never ran.
    "OPIK_DEFAULT_FLUSH_TIMEOUT": "2",
}


def apply_quiet_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Set Opik's privacy defaults without overriding what the operator set."""
    target = os.environ if env is None else env
    for name, value in QUIET_DEFAULTS.items():
        target.setdefault(name, value)



OPIK_CONFIG_VARIABLES = ("OPIK_API_KEY", "OPIK_URL_OVERRIDE", "OPIK_WORKSPACE")


def opik_configured(env: Mapping[str, str] | None = None) -> bool:
    """Opik is on when the operator named a backend (Opik Cloud key/workspace or a self-hosted URL).

    `OPIK_TRACK_DISABLE=true` switches it off again, as it does for the SDK itself.
    """
    env = os.environ if env is None else env
    if (env.get("OPIK_TRACK_DISABLE") or "").strip().lower() in {"1", "true", "yes"}:
        return False
    return any((env.get(name) or "").strip() for name in OPIK_CONFIG_VARIABLES)


def build_tracer(settings: Any, env: Mapping[str, str] | None = None) -> Tracer:
    """The tracer the settings ask for: Opik when configured, else NullTracer.

    Not configured means no opik import at all (importing it starts the SDK's error reporting) and
    so no network call; one INFO line says how to turn tracing on.
    """
    if not opik_configured(env):
        log.info("Opik tracing off: set OPIK_API_KEY (Opik Cloud) or OPIK_URL_OVERRIDE (self-hosted) to turn it on")
        return NullTracer()
    apply_quiet_defaults()  # before the first `import opik`: its error reporting starts at import
    try:
        from trip_planner.core.tracing.opik_tracer import OpikConversationTracer

        return OpikConversationTracer(
            project_name=getattr(settings, "opik_project", None) or "AI Travel Planner",
            app_name=getattr(settings, "app_name", None) or "trip_planner",
        )
    except Exception:
        log.warning("Opik tracing could not start; continuing without tracing", exc_info=True)
        return NullTracer()

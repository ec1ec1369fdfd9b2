"""Tracing: the protocol the core calls (`base`), how a process picks its tracer (`build`), and the
Opik implementation (`opik_tracer`, `opik_lifecycle`, `opik_parts`), which only `build_tracer` imports."""

from trip_planner.core.tracing.base import NullTracer, Tracer, TurnTrace
from trip_planner.core.tracing.build import OPIK_CONFIG_VARIABLES, apply_quiet_defaults, build_tracer, opik_configured

__all__ = [
    "OPIK_CONFIG_VARIABLES",
    "NullTracer",
    "Tracer",
    "TurnTrace",
    "apply_quiet_defaults",
    "build_tracer",
    "opik_configured",
]

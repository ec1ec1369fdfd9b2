"""How much ADK puts on its own OpenTelemetry spans.

ADK builds its experimental GenAI span attributes (every message of the request and every tool
declaration, converted to nested plain values) on each model call whether or not anything records
the span: about 6 % of a turn's CPU in the concurrency benchmark's profile (py-spy), spent for
nothing in a process with no OpenTelemetry SDK, which is ours unless an operator installs one (Opik
traces through ADK's callbacks, see `opik_tracer`, not through these spans). ADK's stable
conventions check `span.is_recording()` before they build anything, so without a recording tracer
provider the turn asks for those. With one installed, ADK's defaults and the OTEL_* variables
decide, as ADK documents.
"""

from __future__ import annotations

from google.adk.telemetry.context import TelemetryConfig
from opentelemetry import trace


def adk_span_config() -> TelemetryConfig | None:
    """The `RunConfig.telemetry` for this process's turns; None leaves ADK's defaults."""
    if isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return TelemetryConfig(genai_semconv_stability_opt_in="stable")
    return None

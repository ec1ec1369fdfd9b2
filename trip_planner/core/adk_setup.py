"""How ADK is set up for this process's turns: the one `Runner` over our session service, and the
run configurations a turn picks from. Kept apart from the runner's pipeline, which only uses them."""

from __future__ import annotations

from google.adk.agents import BaseAgent
from google.adk.agents.run_config import RunConfig, StreamingMode, ToolThreadPoolConfig
from google.adk.apps import App
from google.adk.plugins.context_filter_plugin import ContextFilterPlugin
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig

from trip_planner.config import Settings
from trip_planner.core.tracing.adk_spans import adk_span_config


def build_adk_runner(settings: Settings, root: BaseAgent, session_service: BaseSessionService) -> Runner:
    app = App(
        name=settings.app_name,
        root_agent=root,
        plugins=[ContextFilterPlugin(num_invocations_to_keep=settings.model_context_invocations)],
    )
    # auto_create_session: a conversation claimed by a process that died before ADK stored its
    # session still runs; the registry, not ADK, decides which session is current.
    return Runner(app=app, session_service=session_service, auto_create_session=True)


def turn_run_configs(settings: Settings) -> tuple[RunConfig, RunConfig]:
    """The run configuration of a turn, and of a turn whose answer streams (see `answer_stream`)."""
    # Synchronous tools (place lookups, holiday calendars loaded on first use) run on ADK's tool
    # thread pool, not on the event loop, where they would stall every other conversation.
    whole = RunConfig(
        max_llm_calls=25,
        get_session_config=GetSessionConfig(num_recent_events=settings.recent_events),
        tool_thread_pool_config=ToolThreadPoolConfig(max_workers=4),
        telemetry=adk_span_config(),
    )
    # The model is asked for its words as it writes them; a model that cannot stream (the offline
    # one) answers whole all the same.
    return whole, whole.model_copy(update={"streaming_mode": StreamingMode.SSE})

"""Keeps the latest whole-trip estimate in session state, where the trip's card reads it.

Why a callback and not the model's words: the card must show the figure the budget tool computed,
never one parsed out of prose that a model may round or restate. The budget specialist runs as an
AgentTool, whose state changes ADK forwards to the conversation's session, so the estimate lands
beside the trip (`trip_planner.core.trip_card.ESTIMATE_KEY`).
"""

from __future__ import annotations

from typing import Any

from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext

ESTIMATE_TOOL = "estimate_trip_budget"
ESTIMATE_KEY = "trip_estimate"  # {"total": int, "currency": str, "budget_covers": bool | None}


def remember_estimate(tool: BaseTool, args: dict[str, Any], tool_context: ToolContext, tool_response: Any) -> None:
    """After the budget tool: {"total", "currency", "budget_covers"} of a successful estimate. Returns
    None, so the tool's own response goes to the model unchanged."""
    if tool.name != ESTIMATE_TOOL or not isinstance(tool_response, dict) or tool_response.get("status") == "error":
        return None
    total = tool_response.get("total")
    if not isinstance(total, (int, float)) or isinstance(total, bool):
        return None
    covers = tool_response.get("budget_covers")
    estimate = {
        "total": int(total),
        "currency": str(tool_response.get("currency") or "USD"),
        "budget_covers": covers if isinstance(covers, bool) else None,
    }
    if tool_context.state.get(ESTIMATE_KEY) != estimate:  # written only when it changed: a change shows the card
        tool_context.state[ESTIMATE_KEY] = estimate
    return None

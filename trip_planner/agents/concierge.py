"""The concierge agent (first version: one agent with the planning tools)."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm

from trip_planner.agents.tools import TOOLS

INSTRUCTION = """You are a friendly travel concierge. Help the traveller plan a trip: destination,
dates, length of stay, budget and travellers. Use the tools for weather, costs and destination facts;
every figure they return is an estimate and you must say so, never present it as a quote. Ask for what
is missing instead of guessing. Answer in concise Markdown."""


def build_concierge(model: BaseLlm | str) -> LlmAgent:
    return LlmAgent(name="concierge", model=model, instruction=INSTRUCTION, tools=list(TOOLS))

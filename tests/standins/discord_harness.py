"""Run the real Discord adapter (real discord.py client, real TripPlannerRunner) against the stand-in.

`running_bot` goes through the same `serve()` the CLI uses, so stopping it exercises the graceful
shutdown path (finish answers in flight, then close the gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
from google.adk.agents import LlmAgent
from google.adk.models import LlmRequest, LlmResponse
from google.genai import types

from bots.discord import (
    AnyPlannerClient,
    DiscordSettings,
    configure_endpoints,
    create_client,
    serve,
)
from tests.standins.discord import DiscordStandIn
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.models.offline import OfflinePlannerModel

# Shaped like a real bot token (three base64url parts); it means nothing anywhere but the stand-in.
TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GtEsTx.c3RhbmQtaW4tdG9rZW4tZm9yLXRlc3RzLW9ubHk"

_DEFAULT_API = discord.http.Route.BASE
_DEFAULT_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def long_answer() -> str:
    """About 5,000 characters: paragraphs, a long list and a code block longer than one message."""
    intro = "\n\n".join(
        f"Day {d}: wander the old town, find a café for lunch, and keep the evening free for a long dinner. " * 3
        for d in range(1, 6)
    )
    code = "```python\n" + "\n".join(f"budget[{i}] = {i * 37} + extras  # day {i} estimate" for i in range(60)) + "\n```"
    outro = "\n".join(f"- Tip {i}: book ahead for the popular places." for i in range(20))
    return f"{intro}\n\n{code}\n\n{outro}"


class LongAnswerModel(OfflinePlannerModel):
    """The offline planner, except that a message containing LONG gets a very long answer."""

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        latest = ""
        for content in reversed(llm_request.contents or []):
            if content.role == "user" and content.parts and any(p.text for p in content.parts):
                latest = " ".join(p.text for p in content.parts if p.text)
                break
        if "LONG" in latest:
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=long_answer())]))
            return
        async for response in super().generate_content_async(llm_request, stream):
            yield response


def long_answer_agent() -> LlmAgent:
    """The product's concierge, on a model that can be asked for a very long answer."""
    return build_concierge(LongAnswerModel())


@dataclass
class RunningBot:
    client: AnyPlannerClient
    runner: TripPlannerRunner
    stop: asyncio.Event
    force: asyncio.Event
    task: asyncio.Task[int]

    async def shutdown(self) -> int:
        """Ask for the graceful stop and wait (bounded) for `serve` to return its exit code."""
        self.stop.set()
        return await asyncio.wait_for(asyncio.shield(self.task), timeout=30)


@contextlib.asynccontextmanager
async def running_bot(
    standin: DiscordStandIn,
    settings: Settings,
    *,
    agent: Any = None,
    sharded: bool = False,
    shard_count: int | None = None,
    shard_ids: tuple[int, ...] | None = None,
    server_mentions: bool = True,
    sync_commands: bool = True,
    answer_within_s: float = 2.0,
    shutdown_timeout_s: float = 20.0,
    token: str | None = None,
) -> AsyncIterator[RunningBot]:
    """A connected, ready bot, its servers received, on a fresh TripPlannerRunner over `settings.database_url`."""
    config = DiscordSettings(
        token=token or standin.token,
        api_url=standin.api_url,
        gateway_url=standin.gateway_url,
        sharded=sharded,
        shard_count=shard_count,
        shard_ids=shard_ids,
        server_mentions=server_mentions,
        sync_commands=sync_commands,
        shutdown_timeout_s=shutdown_timeout_s,
    )
    configure_endpoints(config.api_url, config.gateway_url)
    runner = TripPlannerRunner(settings, agent=agent)
    await runner.start()
    client = create_client(
        runner, config, guild_ready_timeout=0, identify_interval_s=0, answer_within_s=answer_within_s
    )
    stop, force = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(client, config, stop=stop, force=force))
    bot = RunningBot(client=client, runner=runner, stop=stop, force=force, task=task)
    try:
        # guild_ready_timeout=0 makes on_ready fire without waiting for the GUILD_CREATEs that follow
        # READY, so wait for them too: until then a server is an unavailable stub (no roles, no channels).
        await standin.wait_until(
            lambda: (client.is_ready() and not any(g.unavailable for g in client.guilds)) or task.done(),
            what="the bot to be ready with its servers",
        )
        if task.done():
            raise AssertionError(f"the bot stopped during start-up: {task.result()!r}")
        yield bot
    finally:
        if not task.done():
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=30)
        await runner.close()
        discord.http.Route.BASE = _DEFAULT_API
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = _DEFAULT_GATEWAY

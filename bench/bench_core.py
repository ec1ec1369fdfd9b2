"""Our full path (dedupe, persistence, turn queue, registry) against bare ADK on the same agent.

Bare ADK here is what the seed's tutorial would do on a database: one `Runner` over a
`DatabaseSessionService` on a SQLite file, a session per user, `run_async` per message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from google.adk.agents import BaseAgent
from google.adk.apps import App
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService, DatabaseSessionService, InMemorySessionService
from google.genai import types

from bench.table import Row
from tests.conftest import reset_postgres
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.models import build_model

TURNS = ["I want to plan a trip to Paris in March", "What's the weather like?", "What if my budget is $2,000?"]
SEQUENTIAL_USERS = 4
ROUNDS = 4
# 50, not 100, keeps `make bench` within its 10 minutes (bench_concurrency covers 100 and 200).
CONCURRENT_USERS = int(os.environ.get("BENCH_CORE_CONCURRENT", "50"))


class BareAdk:
    """`url` "memory" means ADK's InMemorySessionService (nothing durable); `agent` defaults to the
    concierge on the offline model."""

    def __init__(self, url: str, *, agent: BaseAgent | None = None) -> None:
        self.service: BaseSessionService = InMemorySessionService() if url == "memory" else DatabaseSessionService(url)
        agent = agent or build_concierge(build_model(Settings()))
        self.runner = Runner(app=App(name="bench", root_agent=agent), session_service=self.service)
        self.sessions: dict[str, str] = {}

    async def ask(self, user_id: str, text: str) -> str:
        if user_id not in self.sessions:
            session = await self.service.create_session(app_name="bench", user_id=user_id)
            self.sessions[user_id] = session.id
        answer = ""
        async for event in self.runner.run_async(
            user_id=user_id,
            session_id=self.sessions[user_id],
            new_message=types.Content(role="user", parts=[types.Part(text=text)]),
        ):
            if event.is_final_response() and event.content and event.content.parts:
                answer = "".join(p.text or "" for p in event.content.parts)
        return answer

    async def close(self) -> None:
        await self.runner.close()
        if isinstance(self.service, DatabaseSessionService):
            await self.service.close()


class Ours:
    """Our runner as the benchmarks drive it; `agent` and setting changes for the modules that need them."""

    def __init__(self, url: str, *, agent: BaseAgent | None = None, **changes: Any) -> None:
        settings = replace(Settings(database_url=url, turn_timeout_s=120.0), **changes)
        self.runner = TripPlannerRunner(settings, agent=agent)

    async def ask(self, user_id: str, text: str) -> str:
        reply = await self.runner.ask(user_id, text)
        if reply.status != "answered":
            raise RuntimeError(reply.text)
        return reply.text

    async def close(self) -> None:
        await self.runner.close()


async def _sequential_round(system: BareAdk | Ours, round_no: int, timings: list[float]) -> None:
    for u in range(SEQUENTIAL_USERS):
        for text in TURNS:
            start = time.perf_counter()
            await system.ask(f"seq{round_no}-{u}", text)
            timings.append((time.perf_counter() - start) * 1000)


async def _concurrent(system: BareAdk | Ours) -> tuple[float, int]:
    failures = 0

    async def conversation(u: int) -> None:
        nonlocal failures
        for text in TURNS:
            try:
                await system.ask(f"con{u}", text)
            except Exception:
                failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(conversation(u) for u in range(CONCURRENT_USERS)))
    return (time.perf_counter() - start) * 1000, failures


async def _compare(bare_url: str, ours_url: str) -> tuple[tuple[float, float, int], tuple[float, float, int]]:
    """Both systems open side by side, sequential turns measured in alternating rounds so that a
    noisy moment on the machine hits both; then each one's concurrent burst."""
    bare, ours = BareAdk(bare_url), Ours(ours_url)
    await ours.runner.start()
    try:
        for system in (bare, ours):
            await system.ask("warmup", TURNS[0])
        timings: dict[int, list[float]] = {id(bare): [], id(ours): []}
        for round_no in range(ROUNDS):
            for system in (bare, ours) if round_no % 2 == 0 else (ours, bare):
                await _sequential_round(system, round_no, timings[id(system)])
        bare_wall, bare_failures = await _concurrent(bare)
        ours_wall, ours_failures = await _concurrent(ours)
        return (
            (statistics.median(timings[id(bare)]), bare_wall, bare_failures),
            (statistics.median(timings[id(ours)]), ours_wall, ours_failures),
        )
    finally:
        await bare.close()
        await ours.close()


def _rows(name: str, ours: tuple[float, float, int], bare: tuple[float, float, int]) -> list[Row]:
    return [
        Row(name, f"turn latency, median of {ROUNDS * SEQUENTIAL_USERS * len(TURNS)} sequential turns", ours[0], bare[0]),
        Row(name, f"{CONCURRENT_USERS} concurrent 3-turn conversations, wall time", ours[1], bare[1]),
        Row(name, f"failed turns out of {CONCURRENT_USERS * 3} concurrent", ours[2], bare[2], unit="turns"),
    ]


async def run() -> list[Row]:
    """SQLite always; PostgreSQL too when BENCH_DATABASE_URL names one (its public schema is wiped)."""
    logging.getLogger("google_adk").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare, ours = await _compare(f"sqlite+aiosqlite:///{folder / 'bare.db'}", f"sqlite+aiosqlite:///{folder / 'ours.db'}")
    rows = _rows("core path, SQLite", ours, bare)
    postgres = os.environ.get("BENCH_DATABASE_URL")
    if postgres:
        # One database for both: ADK's tables are shared, the users differ (bare ADK's app is "bench").
        await reset_postgres(postgres)
        bare, ours = await _compare(postgres, postgres)
        rows += _rows("core path, PostgreSQL", ours, bare)
    return rows

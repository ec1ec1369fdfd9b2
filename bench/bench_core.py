"""Our full path (dedupe, persistence, turn queue, registry) against bare ADK on the same agent.

Bare ADK here is what the seed's tutorial would do on a database: one `Runner` over a
`DatabaseSessionService` on a SQLite file, a session per user, `run_async` per message.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from google.adk.apps import App
from google.adk.runners import Runner
from google.adk.sessions import DatabaseSessionService
from google.genai import types

from bench.table import Row
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.models import build_model

TURNS = ["I want to plan a trip to Paris in March", "What's the weather like?", "What if my budget is $2,000?"]
SEQUENTIAL_USERS = 10
CONCURRENT_USERS = 100


class BareAdk:
    def __init__(self, url: str) -> None:
        self.service = DatabaseSessionService(url)
        agent = build_concierge(build_model(Settings()))
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
        await self.service.close()


class Ours:
    def __init__(self, url: str) -> None:
        self.runner = TripPlannerRunner(Settings(database_url=url, turn_timeout_s=120.0))

    async def ask(self, user_id: str, text: str) -> str:
        reply = await self.runner.ask(user_id, text)
        if reply.status != "answered":
            raise RuntimeError(reply.text)
        return reply.text

    async def close(self) -> None:
        await self.runner.close()


async def _sequential(system: BareAdk | Ours) -> float:
    timings = []
    for u in range(SEQUENTIAL_USERS):
        for text in TURNS:
            start = time.perf_counter()
            await system.ask(f"seq{u}", text)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


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


async def _measure(kind: type[BareAdk | Ours], folder: Path) -> tuple[float, float, int]:
    system = kind(f"sqlite+aiosqlite:///{folder / (kind.__name__ + '.db')}")
    if isinstance(system, Ours):
        await system.runner.start()
    try:
        await system.ask("warmup", TURNS[0])
        median = await _sequential(system)
        wall, failures = await _concurrent(system)
        return median, wall, failures
    finally:
        await system.close()


async def run() -> list[Row]:
    logging.getLogger("google_adk").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = await _measure(BareAdk, folder)
        ours = await _measure(Ours, folder)
    name = "core path, SQLite"
    return [
        Row(name, "turn latency, median of 30 sequential turns", ours[0], bare[0]),
        Row(name, f"{CONCURRENT_USERS} concurrent 3-turn conversations, wall time", ours[1], bare[1]),
        Row(name, f"failed turns out of {CONCURRENT_USERS * 3} concurrent", ours[2], bare[2], unit="turns"),
    ]

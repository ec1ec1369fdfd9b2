"""No input can freeze a worker: the slowest hostile message's turn against a normal message's, and
the longest event-loop stall while it runs (goal <= 100 ms), through the console path."""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.table import Row
from bots.console import ConsoleChannel
from tests.adversarial import CORPUS, NORMAL
from trip_planner.config import Settings
from trip_planner.core.channel import Inbound
from trip_planner.core.runner import TripPlannerRunner

TICK_S = 0.005


async def _turn(runner: TripPlannerRunner, channel: ConsoleChannel, text: str) -> tuple[float, float]:
    """The turn's wall time and the longest gap a 5 ms ticker saw on the loop meanwhile (both ms)."""
    longest = 0.0
    running = True

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            longest = max(longest, now - last - TICK_S)
            last = now

    watch = asyncio.create_task(ticker())
    start = time.perf_counter()
    await runner.handle(Inbound(f"bench:{uuid.uuid4().hex}", f"bench:{uuid.uuid4().hex[:8]}", text), channel)
    took = time.perf_counter() - start
    running = False
    await watch
    return took * 1000, longest * 1000


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        runner = TripPlannerRunner(Settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}"))
        await runner.start()
        channel = ConsoleChannel(io.StringIO())
        try:
            await _turn(runner, channel, NORMAL)
            normal = [await _turn(runner, channel, NORMAL) for _ in range(5)]
            hostile = {name: await _turn(runner, channel, text) for name, text in CORPUS.items()}
        finally:
            await runner.close()
    normal_ms = statistics.median(t for t, _ in normal)
    normal_stall = statistics.median(s for _, s in normal)
    worst = max(hostile, key=lambda name: hostile[name][0])
    worst_ms, _ = hostile[worst]
    stall = max(s for _, s in hostile.values())
    return [
        Row("hostile input", f"slowest of {len(CORPUS)} hostile messages ({worst}), turn time", worst_ms, normal_ms,
            baseline_name="normal message"),
        Row("hostile input", "longest event-loop stall during any hostile turn (goal <= 100 ms)", stall, normal_stall,
            baseline_name="during a normal turn"),
    ]

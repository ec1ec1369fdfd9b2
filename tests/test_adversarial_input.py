"""No input can freeze a worker: every hostile message is answered in about the time of a normal one.

Through the console path (the runner and the console channel). Bounded by a ratio to a normal
message measured in the same test (20x: wide enough for a noisy machine, far below the minutes a
quadratic pattern takes), not by an absolute time.
"""

from __future__ import annotations

import io
import time
import uuid

from bots.console import ConsoleChannel
from tests.adversarial import CORPUS, NORMAL
from trip_planner.core.channel import Inbound
from trip_planner.core.runner import TripPlannerRunner

RATIO = 20.0


async def _timed(runner: TripPlannerRunner, channel: ConsoleChannel, text: str) -> float:
    user = f"console:{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    reply = await runner.handle(Inbound(f"console:{uuid.uuid4().hex}", user, text), channel)
    elapsed = time.perf_counter() - start
    assert reply.status in ("answered", "rejected"), reply
    return elapsed


async def test_every_hostile_message_is_answered_in_normal_time(runner: TripPlannerRunner) -> None:
    channel = ConsoleChannel(io.StringIO())
    await _timed(runner, channel, NORMAL)  # warm caches
    normal = sorted([await _timed(runner, channel, NORMAL) for _ in range(3)])[1]
    slow = {}
    for name, text in CORPUS.items():
        took = await _timed(runner, channel, text)
        if took > RATIO * normal:
            slow[name] = round(took / normal, 1)
    assert not slow, f"slower than {RATIO:.0f}x a normal message ({normal * 1000:.0f} ms): {slow}"

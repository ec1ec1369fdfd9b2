"""Long conversations stay fast: turn latency at turn 10 and turn 1,000 of one conversation.

Ours: the TripPlannerRunner as deployed (ContextFilterPlugin bounds what the model sees,
GetSessionConfig(num_recent_events=N) bounds what is read from the database, the trip's facts live in
state). Baseline: bare ADK on the same agents and offline model, a `Runner` with a
`DatabaseSessionService` on SQLite, no plugin and a default RunConfig, so every turn loads and sends
the whole history. Both run in this process, one after the other, on fresh SQLite files.

Latency "at turn N" is the median of the ten turns ending at N: one full cycle of the scripted
messages (a full plan costs more than a weather question), and the median damps fsync and scheduler
spikes. A throwaway conversation warms the data caches first. BENCH_LONG_TURNS sets the length
(default 1,000).

By default the conversation is fast-forwarded between real windows of ten turns ending at turns 10,
100, 300 and the last (BENCH_LONG_TURNS): the turns in between are appended to both sessions as
copies of the events of the last real turns (same shapes and sizes, fresh ids, through the session
service's own `append_event`). Running all 1,000 turns for real would take far over the 10-minute
budget of `make bench` (bare ADK's late turns load and send the whole history). BENCH_LONG_FAST=0 runs
every turn for real instead (about 2.5 minutes at 300 turns on 2 cores). The real turns are also
returned as chart series (turn latency against turn number, ours and bare ADK).
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

from google.adk.apps import App
from google.adk.events import Event
from google.adk.runners import Runner
from google.adk.sessions import DatabaseSessionService
from google.genai import types

from bench.table import Result, Row, Series
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner
from trip_planner.models.offline import OfflinePlannerModel

log = logging.getLogger("bench.long_conversation")

# One realistic conversation, repeated: a plan, then follow-ups that each call tools or a specialist.
SCRIPT = [
    "I want to plan a trip to Paris in March for 5 days",
    "What's the weather like in March?",
    "What if I increase my budget to $2,000?",
    "make it 6 days",
    "Any public holidays then?",
    "What's the weather like?",
    "What if we are 2 people?",
    "How much is the budget now?",
    "What's the weather like in March?",
    "Actually make it 5 days",
]
# Ten messages, so each measuring window (turns 1-10, ..., 991-1000) sends each of them once.
EARLY, LATE = 10, int(os.environ.get("BENCH_LONG_TURNS", "1000"))
WINDOW = len(SCRIPT)
ALL_REAL = os.environ.get("BENCH_LONG_FAST", "1") == "0"
# The last turn of each real window; between two windows the conversation is fast-forwarded.
CHECKPOINTS = sorted({c for c in (EARLY, 100, 300) if c < LATE} | {LATE})


def _skip_to(turn: int) -> int:
    """When `turn` starts a gap between real windows, the first turn of the next window; else `turn`."""
    if ALL_REAL:
        return turn
    for before, after in zip(CHECKPOINTS, CHECKPOINTS[1:]):
        if turn == before + 1 and after - WINDOW + 1 > turn:
            return after - WINDOW + 1
    return turn


def _message(turn: int) -> str:
    return SCRIPT[(turn - 1) % len(SCRIPT)]


def _at(latencies: list[float], turn: int) -> float:
    window = latencies[max(0, turn - len(SCRIPT)): turn]
    return statistics.median(window) * 1000


async def _fast_forward(service: DatabaseSessionService, app_name: str, user_id: str, session_id: str,
                        turns: int) -> None:
    """Append `turns` turns of history copied from the last real turns' events (see the docstring)."""
    session = await service.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
    assert session is not None
    by_invocation: dict[str, list[Event]] = {}
    for event in session.events:
        by_invocation.setdefault(event.invocation_id, []).append(event)
    template = list(by_invocation.values())[-len(SCRIPT):]
    for turn in range(turns):
        for event in template[turn % len(template)]:
            copy = event.model_copy(update={"id": Event.new_id(), "invocation_id": f"ff-{turn}-{event.invocation_id}",
                                            "timestamp": time.time()})
            await service.append_event(session, copy)


async def _ours(db: Path) -> list[float]:
    # One person writing back to back, faster than a person types: the per-minute limit is raised.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", turn_timeout_s=120.0, messages_per_minute=100_000)
    runner = TripPlannerRunner(settings)
    await runner.start()
    latencies = []
    try:
        for text in SCRIPT[:2]:  # warm the place, airport and date caches outside the measured turns
            await runner.ask("bench:warm-up", text)
        turn = 0
        while turn < LATE:
            turn += 1
            if (resume := _skip_to(turn)) != turn:
                record = await runner.sessions.current_conversation("bench:long")
                assert record is not None
                await _fast_forward(runner.sessions.session_service, runner.settings.app_name, "bench:long",
                                    record.session_id, resume - turn)
                latencies.extend([float("nan")] * (resume - turn))
                turn = resume
            start = time.perf_counter()
            reply = await runner.ask("bench:long", _message(turn))
            latencies.append(time.perf_counter() - start)
            if reply.status != "answered":
                raise RuntimeError(f"turn {turn} failed: {reply.text}")
    finally:
        await runner.close()
    return latencies


async def _bare(db: Path) -> list[float]:
    service = DatabaseSessionService(db_url=f"sqlite+aiosqlite:///{db}")
    app = App(name="bare_adk", root_agent=build_concierge(OfflinePlannerModel()))
    runner = Runner(app=app, session_service=service)
    session = await service.create_session(app_name="bare_adk", user_id="bench:long")
    latencies = []
    try:
        turn = 0
        while turn < LATE:
            turn += 1
            if (resume := _skip_to(turn)) != turn:
                await _fast_forward(service, "bare_adk", "bench:long", session.id, resume - turn)
                latencies.extend([float("nan")] * (resume - turn))
                turn = resume
            message = types.Content(role="user", parts=[types.Part(text=_message(turn))])
            start = time.perf_counter()
            answered = False
            async for event in runner.run_async(user_id="bench:long", session_id=session.id, new_message=message):
                answered = answered or (event.is_final_response() and bool(event.content and event.content.parts))
            latencies.append(time.perf_counter() - start)
            if not answered:
                raise RuntimeError(f"bare ADK turn {turn} gave no answer")
    finally:
        await runner.close()
        await service.close()
    return latencies


def _series(label: str, latencies: list[float]) -> Series:
    """Latency at each turn that ends ten real turns (the rows' measure): every checkpoint when the
    conversation is fast-forwarded, every turn from the tenth on when all turns are real."""
    points = [(turn, _at(latencies, turn)) for turn in range(WINDOW, len(latencies) + 1)
              if not any(math.isnan(s) for s in latencies[turn - WINDOW: turn])]
    return Series("turn_latency", label, tuple(ms for _, ms in points), xs=tuple(float(t) for t, _ in points),
                  title="Turn latency against turn number (median of the last ten turns; offline model, SQLite)",
                  xlabel="turn number", ylabel="turn latency (ms)", log_x=not ALL_REAL,
                  notes=() if ALL_REAL else (f"real turns in windows ending at {CHECKPOINTS}; the rest fast-forwarded",))


async def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        ours = await _ours(Path(tmp) / "ours.db")
        bare = await _bare(Path(tmp) / "bare.db")
    name = "long conversation (offline model, SQLite)"
    ours_early, ours_late = _at(ours, EARLY), _at(ours, LATE)
    bare_early, bare_late = _at(bare, EARLY), _at(bare, LATE)
    log.info("ours %.1f -> %.1f ms, bare %.1f -> %.1f ms", ours_early, ours_late, bare_early, bare_late)
    return [
        Row(name, f"turn latency at turn {EARLY}", ours_early, bare_early),
        Row(name, f"turn latency at turn {LATE}", ours_late, bare_late),
        Row(name, f"growth (turn {LATE} / turn {EARLY})", ours_late / ours_early, bare_late / bare_early, unit="x"),
        _series("ours", ours),
        _series("bare ADK", bare),
    ]

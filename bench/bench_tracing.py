"""Opik tracing is never in the way: turn latency and shutdown with tracing on against a backend that
works, is down, answers 500 or hangs, compared with tracing off.

Each configuration gets its own runner on a fresh SQLite file and the offline model, one warm-up
conversation, then the same measured conversations. The Opik stand-in runs in a process of its own
(`bench/opik_process.py`), as a real backend does, so its parsing is not counted as ours. "Shutdown" is `TripPlannerRunner.close()`, which
flushes the tracer with its 2 s bound.

With the backend down, answering 500 or hanging, what is measured is the steady state: after the
warm-up the benchmark waits (at most `BREAKER_WAIT_S`) until the tracer's circuit breaker has
opened, as it does within seconds of the first failed delivery in production (a hung backend takes
longest: a request must stay unanswered for `hang_after_s`, then a probe must time out). Turns then
run untraced, and shutdown skips the flush the breaker knows cannot succeed. The seconds before the
breaker opens cost what tracing a working backend costs (the "works" rows).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.table import Row
from bench.opik_process import opik_backend
from tests.standins.opik import Mode
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger("bench.tracing")

CONVERSATIONS = 5
ROUNDS = 3
QUESTIONS = [
    "Plan 5 days in Lisbon in May for 2 people",
    "What's the weather like?",
    "What would the budget be?",
    "Thanks, anything else I should know?",
]
MODES: list[Mode] = ["ok", "down", "500", "hang"]
_OPIK_VARIABLES = ("OPIK_API_KEY", "OPIK_URL_OVERRIDE", "OPIK_WORKSPACE", "OPIK_TRACK_DISABLE")
BREAKER_WAIT_S = 60.0


@contextmanager
def _opik_env(url: str | None) -> Iterator[None]:
    """Point Opik at `url` (None: not configured) for the duration, restoring the operator's env."""
    saved = {name: os.environ.get(name) for name in (*_OPIK_VARIABLES, "OPIK_SENTRY_ENABLE", "OPIK_ANALYTICS_ENABLE")}
    for name in _OPIK_VARIABLES:
        os.environ.pop(name, None)
    os.environ.setdefault("OPIK_SENTRY_ENABLE", "false")
    os.environ.setdefault("OPIK_ANALYTICS_ENABLE", "false")
    if url is not None:
        os.environ["OPIK_URL_OVERRIDE"] = url
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _breaker_opened(runner: TripPlannerRunner, mode: Mode) -> None:
    """Wait until the tracer's breaker has left `closed` (the steady state with a broken backend)."""
    deadline = time.monotonic() + BREAKER_WAIT_S
    while time.monotonic() < deadline:
        if str(getattr(runner.tracer, "breaker_state", "closed")) != "closed":
            return
        await asyncio.sleep(0.1)
    log.warning("Opik backend %s: the breaker did not open within %.0fs; measuring anyway", mode, BREAKER_WAIT_S)


async def _measure(database: Path, url: str | None, mode: Mode | None = None) -> tuple[list[float], float]:
    """Per-turn latencies (ms) and the close() time (ms) of one runner."""
    with _opik_env(url):
        runner = TripPlannerRunner(Settings(database_url=f"sqlite+aiosqlite:///{database}"))
    await runner.start()
    latencies: list[float] = []
    try:
        for question in QUESTIONS:  # warm-up: imports, first compilation, table creation
            await runner.ask("console:warmup", question)
        if mode is not None and mode != "ok":
            await _breaker_opened(runner, mode)
        for n in range(CONVERSATIONS):
            user = f"console:bench{n}"
            for question in QUESTIONS:
                started = time.perf_counter()
                reply = await runner.ask(user, question)
                latencies.append((time.perf_counter() - started) * 1000)
                if reply.status != "answered":
                    log.warning("turn not answered (%s): %s", reply.status, reply.text)
        await runner.end_conversation(f"console:bench{CONVERSATIONS - 1}", "satisfied")
    finally:
        started = time.perf_counter()
        await runner.close()
        closed_ms = (time.perf_counter() - started) * 1000
        shutdown = getattr(runner.tracer, "shutdown", None)
        if shutdown is not None:
            shutdown(0.0)  # release the SDK now; the measured part was close()
    return latencies, closed_ms


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def run() -> list[Row]:
    """Configurations alternate in rounds, so load from elsewhere on the machine hits them alike."""
    configs: list[Mode | None] = [None, *MODES]  # None: tracing off
    latencies: dict[Mode | None, list[float]] = {c: [] for c in configs}
    closes: dict[Mode | None, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="bench_tracing_") as tmp:
        for round_ in range(ROUNDS):
            for config in configs:
                database = Path(tmp) / f"{config or 'off'}-{round_}.db"
                if config is None:
                    turns, closed = await _measure(database, None)
                else:
                    with opik_backend(config) as url:
                        turns, closed = await _measure(database, url, config)
                latencies[config].extend(turns)
                closes[config].append(closed)
    base, base_close = latencies[None], statistics.median(closes[None])
    rows: list[Row] = []
    for mode in MODES:
        label = "works" if mode == "ok" else mode
        ours = latencies[mode]
        rows.append(Row("tracing", f"turn latency p50, Opik backend {label}", statistics.median(ours),
                        statistics.median(base), baseline_name="tracing off"))
        rows.append(Row("tracing", f"turn latency p95, Opik backend {label}", _p95(ours), _p95(base),
                        baseline_name="tracing off"))
        rows.append(Row("tracing", f"shutdown (close + flush, median), Opik backend {label}",
                        statistics.median(closes[mode]), base_close, baseline_name="tracing off"))
    return rows

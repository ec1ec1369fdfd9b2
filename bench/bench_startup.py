"""Start-up to ready, as a process: `trip-planner slack` (HTTP mode: auth.test done and the port
listening) against a bare Bolt app doing the same (bench/bare_bolt.py), and `trip-planner discord`
(gateway connected, READY sent) against a bare discord.py client (bench/bare_discord.py), each
against the Slack or Discord stand-in in this process, on a fresh SQLite file. Goal: ours ≤ 3 s.

Timed from spawning the process to ready, polled every 10 ms; the median of RUNS starts each
(BENCH_STARTUP_RUNS, default 3). The interpreter's own start (`python -c pass`) is logged for
context. About 30 s in all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.table import Result, Row
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN
from tests.standins.slack import SlackStandIn
from tests.test_chaos_slack import _free_port, _listening

RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "3"))
TRIP_PLANNER = Path(sys.executable).with_name("trip-planner")
TIMEOUT_S = 60.0

log = logging.getLogger("bench.startup")


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "TRIP_PLANNER_", "GOOGLE_"))}
    keep.pop("PORT", None)
    keep.pop("DATABASE_URL", None)
    return dict(keep, TRIP_PLANNER_MODEL="offline", OPIK_TRACK_DISABLE="true", PYTHONUNBUFFERED="1", **extra)


async def _time_to_ready(args: list[str], env: dict[str, str], ready: Callable[[], Awaitable[bool]]) -> float:
    """Seconds from spawning `args` to `ready()`; the process is stopped (SIGTERM, then SIGKILL) after."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while not await ready():
            if proc.returncode is not None or time.perf_counter() - started > TIMEOUT_S:
                raise RuntimeError(f"{args[:3]} did not get ready (exit code {proc.returncode})")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _slack(ours: bool, folder: Path, run_no: int) -> float:
    slack = SlackStandIn()
    await slack.start()
    try:
        if ours:
            port = _free_port()
            env = _env(SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=slack.signing_secret,
                       SLACK_API_URL=slack.api_url, PORT=str(port), HOST="127.0.0.1",
                       DATABASE_URL=f"sqlite+aiosqlite:///{folder / f'slack{run_no}.db'}")
            args = [str(TRIP_PLANNER), "slack"]
        else:
            port = 0
            env = _env()
            args = [sys.executable, "-m", "bench.bare_bolt", slack.api_url, slack.signing_secret, slack.bot_token]

        async def ready() -> bool:
            if not slack.calls_to("auth.test"):
                return False
            return await _listening(port) if ours else True  # bare Bolt listens right after its auth.test

        return await _time_to_ready(args, env, ready)
    finally:
        await slack.close()


async def _discord(ours: bool, folder: Path, run_no: int) -> float:
    async with DiscordStandIn(token=TOKEN) as standin:
        if ours:
            env = _env(DISCORD_TOKEN=TOKEN, DISCORD_API_URL=standin.api_url, DISCORD_GATEWAY_URL=standin.gateway_url,
                       DISCORD_SYNC_COMMANDS="false", DATABASE_URL=f"sqlite+aiosqlite:///{folder / f'discord{run_no}.db'}")
            args = [str(TRIP_PLANNER), "discord"]
        else:
            env = _env()
            args = [sys.executable, "-m", "bench.bare_discord", standin.api_url, standin.gateway_url, TOKEN]

        async def ready() -> bool:
            return any(s.open and s.identified for s in standin.sessions)

        return await _time_to_ready(args, env, ready)


async def _interpreter() -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    return time.perf_counter() - started


async def run() -> list[Result]:
    times: dict[str, list[float]] = {k: [] for k in ("slack", "bolt", "discord", "bare discord", "python")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in range(RUNS):  # alternating, so a noisy moment hits both
            times["bolt"].append(await _slack(False, folder, n))
            times["slack"].append(await _slack(True, folder, n))
            times["bare discord"].append(await _discord(False, folder, n))
            times["discord"].append(await _discord(True, folder, n))
            times["python"].append(await _interpreter())
    median = {k: statistics.median(v) for k, v in times.items()}
    log.info("start-up medians (s): %s", {k: round(v, 2) for k, v in median.items()})
    name = f"start-up to ready (median of {RUNS}, SQLite)"
    return [
        Row(name, "`trip-planner slack`, HTTP: auth.test done, listening", median["slack"], median["bolt"], unit="s",
            baseline_name="bare Bolt app"),
        Row(name, "`trip-planner discord`: gateway READY", median["discord"], median["bare discord"], unit="s",
            baseline_name="bare discord.py client"),
    ]

"""Memory added by idle conversations: COUNT conversations that each had one turn and are now idle,
ours (TripPlannerRunner on SQLite) against bare ADK on InMemorySessionService, which keeps every
session in the process. Goal: at most 2 KB each for ours.

Each system runs in a fresh process (bench/memory_proc.py) with an echo model (bench/echo_model.py)
so turns are cheap; memory is what tracemalloc still traces after the turns and a garbage collection
(Python objects only), and the RSS added is reported beside it (it also counts the allocator's
arenas and SQLite's page cache, so it is noisier).

Size: BENCH_IDLE_CONVERSATIONS, default 200, not the issue's 10,000: under tracemalloc each of our
turns costs about three times as much (about 130 ms on 2 busy cores), so 10,000 would take over 20
minutes, far over the 10 of `make bench` (1,000 took 135 s). Per conversation the traced figure hardly
depends on the count (ours 0.19 KB at 1,000 and 0.5 KB at 400, a few fixed allocations spread thinner; bare ADK 11.4 KB at both); the RSS
figure at small counts is dominated by caches that fill once. About 40 s on 2 busy cores. For 10,000:
BENCH_IDLE_CONVERSATIONS=10000 BENCH_MEMORY_METHOD=malloc (heap measured as glibc's bytes in use, no
tracemalloc slowdown; a few minutes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from bench.table import Result, Row

COUNT = int(os.environ.get("BENCH_IDLE_CONVERSATIONS", "200"))
# `trace` (tracemalloc: Python objects only) or `malloc` (glibc's bytes in use, Python's allocator
# routed to malloc): the second runs at full speed, for 10,000 (see bench/memory_proc.py).
METHOD = os.environ.get("BENCH_MEMORY_METHOD", "trace")

log = logging.getLogger("bench.memory")


async def _measure(kind: str, url: str) -> dict[str, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.memory_proc", kind, str(COUNT), url, METHOD,
        env=dict(os.environ, OPIK_TRACK_DISABLE="true", **({"PYTHONMALLOC": "malloc"} if METHOD == "malloc" else {})),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"memory_proc {kind} failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: dict[str, int] = json.loads(lines[-1])
    return result


async def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        ours = await _measure("ours", f"sqlite+aiosqlite:///{Path(tmp) / 'idle.db'}")
    bare = await _measure("bare", "")
    log.info("ours %s, bare %s (bytes for %d conversations)", ours, bare, COUNT)
    name = f"memory, {COUNT} idle conversations (echo model)"
    return [
        Row(name, "Python heap added per conversation (tracemalloc)" if METHOD == "trace" else
            "heap added per conversation (malloc in use, PYTHONMALLOC=malloc)", ours["traced"] / COUNT / 1024,
            bare["traced"] / COUNT / 1024, unit="KB", baseline_name="bare ADK in memory"),
        Row(name, "RSS added per conversation", ours["rss"] / COUNT / 1024, bare["rss"] / COUNT / 1024, unit="KB",
            baseline_name="bare ADK in memory"),
    ]

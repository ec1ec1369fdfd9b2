"""One system of the memory benchmark, in a fresh process so that neither system's freed memory is
reused by the other. Started as `python -m bench.memory_proc ours|bare COUNT DATABASE_URL [trace|malloc]`;
prints one JSON line: heap bytes and RSS bytes added by COUNT idle conversations.

Heap bytes are what tracemalloc still traces (`trace`, the default), or, for counts where
tracemalloc's slowdown does not fit (`malloc`: 10,000 conversations), what glibc's `mallinfo2`
reports in use, in a process started with PYTHONMALLOC=malloc so that Python's objects are malloc's
too (it also counts C allocations such as SQLite's page cache, which is bounded).

Warm-up first (imports, caches, the first session), then tracemalloc starts, so only what the
conversations add is traced; after the turns the loop idles briefly and the garbage is collected.
Allocations made by the import machinery are left out: ADK tries to import its optional A2A agent on
every agent run (`a2a` is not installed, so the import fails each time), and the bytecode the last
attempt read, about 3.8 MB, stays referenced until the next attempt; once traced, it is a constant,
not conversations' memory.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import logging
import sys
import tracemalloc
from pathlib import Path

from bench.bench_core import BareAdk, Ours
from bench.echo_model import echo_agent

IMPORTS = [tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
           tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>")]
AT_ONCE = 50  # conversations in flight while they are being created


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc_in_use() -> int:
    """Bytes malloc has handed out and not had back: small blocks plus mmapped large ones."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _ours(url: str) -> Ours:
    return Ours(url, agent=echo_agent(), max_concurrent_turns=1000)


async def _conversations(system: Ours | BareAdk, prefix: str, count: int) -> None:
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await system.ask(f"bench:{prefix}{n}", "I want to plan a trip to Lisbon in May for 4 days")

    await asyncio.gather(*(worker() for _ in range(AT_ONCE)))


async def main(kind: str, count: int, url: str, method: str = "trace") -> None:
    system: Ours | BareAdk
    if kind == "ours":
        system = _ours(url)
        await system.runner.start()
    else:
        system = BareAdk("memory", agent=echo_agent())
    try:
        await _conversations(system, "warm", 100)
        await asyncio.sleep(0.2)
        gc.collect()
        rss, heap = _rss(), _malloc_in_use()
        if method == "trace":
            tracemalloc.start()
        await _conversations(system, "idle", count)
        await asyncio.sleep(0.5)  # idle: whatever a finished turn schedules has run
        gc.collect()
        if method == "trace":
            snapshot = tracemalloc.take_snapshot().filter_traces(IMPORTS)
            traced = sum(stat.size for stat in snapshot.statistics("filename"))
            tracemalloc.stop()
        else:
            traced = _malloc_in_use() - heap
        added_rss = _rss() - rss
    finally:
        await system.close()
    sys.stdout.write(json.dumps({"traced": traced, "rss": added_rss}) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "", *sys.argv[4:5]))

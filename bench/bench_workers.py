"""Several workers on one PostgreSQL: turns per second of 1, 2 and 3 worker processes answering the
same conversations with a 200 ms model, against 1 worker measured in the same run.

Needs BENCH_DATABASE_URL (a PostgreSQL database whose public schema it wipes); without it there are
no rows. On a 2-core machine a third process has no core of its own, so the third row shows the
cost of oversubscription, not more throughput.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from bench.table import Row
from tests.conftest import reset_postgres

CONVERSATIONS = int(os.environ.get("BENCH_WORKER_CONVERSATIONS", "40"))  # 40 keeps `make bench` within 10 minutes


async def _run(url: str, workers: int) -> tuple[float, int]:
    """Turns per second over the slowest worker's wall time, and failed turns."""
    await reset_postgres(url)
    share = CONVERSATIONS // workers
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.worker_proc", url, str(i * share), str(share),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for i in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"worker did not start: {line!r}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        out, err = await proc.communicate()
        lines = out.decode().strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"worker failed ({proc.returncode}): {err.decode()[-2000:]}")
        results.append(json.loads(lines[-1]))
    turns = sum(r["turns"] for r in results)
    seconds = max(r["seconds"] for r in results)
    return turns / seconds, sum(r["failures"] for r in results)


async def run() -> list[Row]:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return []
    one, one_failed = await _run(url, 1)
    rows = [Row("workers, PostgreSQL", f"turns/s, 1 worker, {CONVERSATIONS} conversations x 3 turns, 200 ms model",
                one, one, unit="turns/s", baseline_name="1 worker")]
    failed = one_failed
    for workers in (2, 3):
        tps, failures = await _run(url, workers)
        failed += failures
        rows.append(Row("workers, PostgreSQL", f"turns/s, {workers} workers", tps, one, unit="turns/s", baseline_name="1 worker"))
    total = 3 * CONVERSATIONS * 3
    rows.append(Row("workers, PostgreSQL", "failed turns, all runs", failed, total, unit="turns", baseline_name="all turns"))
    return rows

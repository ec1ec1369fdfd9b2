"""Several workers started at the same instant on one fresh database all start (issue: half of them
died creating ADK's tables). Real processes, several rounds, PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, reset_postgres

WORKERS = 4
ROUNDS = 3
# What a worker does at start-up that touches the schema: the session manager's start (ADK's tables
# and ours), then registering as a worker; then a first conversation, to show the tables work.
START = """
import asyncio, sys
from trip_planner.core.session_manager import SessionManager
from trip_planner.core.workers import Workers

async def main():
    sessions = SessionManager(sys.argv[1])
    await sessions.start()
    workers = Workers(sessions.store)
    await workers.register()
    await sessions.get_or_create_session("console:start-" + sys.argv[2])
    await workers.leave()
    await sessions.close()

asyncio.run(main())
"""


async def _round(url: str) -> list[tuple[int, bytes]]:
    env = {**os.environ, "OPIK_TRACK_DISABLE": "true"}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", START, url, str(n), env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        for n in range(WORKERS)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    return [(p.returncode or 0, err) for p, (_out, err) in zip(processes, outputs)]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_four_workers_started_together_on_a_fresh_database_all_start(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL not set (.ci/run sets it)")
    for round_ in range(ROUNDS):
        if backend == "postgresql":
            assert POSTGRES_URL
            await reset_postgres(POSTGRES_URL)
            url = POSTGRES_URL
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / f'round{round_}.db'}"
        results = await _round(url)
        failed = [err.decode(errors="replace")[-2000:] for code, err in results if code != 0]
        assert not failed, f"round {round_}: {len(failed)} of {WORKERS} workers died:\n" + "\n---\n".join(failed)

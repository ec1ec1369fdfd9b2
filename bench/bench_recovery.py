"""After a crash: seconds from restarting a SIGKILLed `trip-planner slack` worker (HTTP mode, SQLite)
to the last recovered answer, against the same process's clean start-up to listening, measured in
the same run. The messages were acknowledged (stored) by the killed worker and not yet answered."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.table import Row
from tests.standins.slack import SlackStandIn
from tests.test_chaos_slack import Worker, _answers_by_message, _env, _free_port, _wait_listening

PEOPLE = 10
MESSAGES_EACH = 3


async def _measure(folder: Path) -> tuple[float, float, int]:
    slack = SlackStandIn()
    await slack.start()
    worker = Worker("web.1", _free_port(), {}, folder / "web.1.log")
    worker.env = _env(slack, f"sqlite+aiosqlite:///{folder / 'trips.db'}", worker.name, worker.port)
    try:
        started = time.monotonic()
        await worker.start()
        await _wait_listening([worker])
        start_up = time.monotonic() - started
        keys: set[str] = set()
        channels = [f"D0BENCH{i:03d}" for i in range(PEOPLE)]
        events = [
            slack.user_message(user=f"U0BENCH{i:03d}", channel=channel, text=f"Trip to Rome in June, question {n}")
            for n in range(MESSAGES_EACH) for i, channel in enumerate(channels)
        ]
        statuses = await asyncio.gather(*(slack.send_event(worker.url, event) for event in events))
        keys = {f"slack:{slack.team_id}:{e['channel']}:{e['ts']}" for e, (status, _) in zip(events, statuses) if status == 200}
        await worker.kill()

        def answered() -> int:
            counted: Counter[str] = Counter()
            for channel in channels:
                counted.update(_answers_by_message(slack, channel))
            return sum(1 for k in keys if counted[k])

        left = len(keys) - answered()
        restarted = time.monotonic()
        await worker.start()
        while answered() < len(keys):
            if time.monotonic() - restarted > 120:
                raise RuntimeError("recovery took over 120 s")
            await asyncio.sleep(0.05)
        return time.monotonic() - restarted, start_up, left
    finally:
        await worker.stop()
        await slack.close()


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        recovered_s, start_up_s, left = await _measure(Path(tmp))
    return [
        Row("recovery, SQLite", f"restart to the last recovered answer ({left} left unanswered by the kill)",
            recovered_s, start_up_s, unit="s", baseline_name="clean start-up"),
    ]

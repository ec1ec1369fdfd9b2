"""One worker process for the scaling benchmark: a runner on the shared database answering its share
of the conversations (as a load balancer would spread them), started on a signal so start-up is not
timed. Prints one JSON line: turns, failures, seconds."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time

from bench.slow_model import SlowModel
from trip_planner.agents.concierge import build_concierge
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

TURNS = ["I want to plan a trip to Lisbon in May", "What about hotels?", "Make it 5 days"]


async def main(url: str, first: int, count: int) -> None:
    settings = Settings(database_url=url, turn_timeout_s=120.0, max_concurrent_turns=1000)
    runner = TripPlannerRunner(settings, agent=build_concierge(SlowModel()))
    await runner.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.to_thread(sys.stdin.readline)  # "go"
    failures = 0

    async def conversation(user: int) -> None:
        nonlocal failures
        for text in TURNS:
            reply = await runner.ask(f"bench:user{user}", text)
            failures += reply.status != "answered"

    start = time.perf_counter()
    await asyncio.gather(*(conversation(u) for u in range(first, first + count)))
    seconds = time.perf_counter() - start
    await runner.close()
    sys.stdout.write(json.dumps({"turns": count * len(TURNS), "failures": failures, "seconds": seconds}) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

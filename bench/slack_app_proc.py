"""The app side of the Slack acknowledgement benchmark, in its own process (as in production: Slack
and the app do not share a CPU's event loop). Started as

    python -m bench.slack_app_proc ours|receive|answer|bolt API_URL SIGNING_SECRET BOT_TOKEN DATABASE_URL

`ours` is our SlackBot in HTTP mode over a TripPlannerRunner with the 200 ms model (bench/slow_model.py),
taking and answering (TRIP_PLANNER_ROLE=both); `receive` and `answer` are the same app in the split
roles (core/dispatch.py: the first only stores and acknowledges, the second answers and takes no
events); `bolt` is the bare Bolt app of bench/bare_bolt.py. Prints `port N` once listening (`port
None` for `answer`) and stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import sys

from bench.bare_bolt import run_bare_bolt, serve_until_stdin_closes


async def _ours(role: str, api_url: str, secret: str, token: str, database_url: str) -> None:
    # Imported here, not at the top: the bare Bolt baseline must not carry our modules' 250,000
    # objects, whose garbage collections stalled its event loop and slowed the baseline.
    from bench.echo_model import echo_agent
    from bench.slow_model import SlowModel
    from bots.slack import SlackBot, SlackConfig
    from trip_planner.agents.concierge import build_concierge
    from trip_planner.config import Settings
    from trip_planner.core.runner import TripPlannerRunner

    # Generous limits: the benchmark measures acknowledgement, not refusals (each person sends a few).
    settings = Settings(database_url=database_url, turn_timeout_s=120.0, max_concurrent_turns=64,
                        max_waiting_per_person=50, messages_per_minute=600, role=role)
    # BENCH_ACK_MODEL=echo: answers cost next to nothing, to tell the cost of storing apart from the
    # cost of sharing the event loop with the turns being answered.
    agent = echo_agent() if os.environ.get("BENCH_ACK_MODEL") == "echo" else build_concierge(SlowModel())
    runner = TripPlannerRunner(settings, agent=agent)
    await runner.start()
    config = SlackConfig(bot_token=token, signing_secret=secret, api_url=api_url, port=0, host="127.0.0.1")
    bot = SlackBot(runner, config, drain_timeout_s=2.0)
    await bot.start()
    try:
        await serve_until_stdin_closes(bot.http_port)
    finally:
        await bot.stop()
        await runner.close()


def main(argv: list[str]) -> None:
    """BENCH_ACK_PROFILE=FILE writes a cProfile of the app's whole run to FILE (read it with pstats)."""
    kind, api_url, secret, token, database_url = argv[:5]
    role = {"ours": "both", "receive": "receive", "answer": "answer"}.get(kind)
    app = _ours(role, api_url, secret, token, database_url) if role else run_bare_bolt(api_url, secret, token)
    profile_to = os.environ.get("BENCH_ACK_PROFILE")
    if not profile_to:
        asyncio.run(app)
        return
    with cProfile.Profile() as profile:
        asyncio.run(app)
    profile.dump_stats(profile_to)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    main(sys.argv[1:])

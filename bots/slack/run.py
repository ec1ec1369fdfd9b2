"""`trip-planner slack`: start the runner and the Slack app, stop cleanly on SIGTERM.

A platform sends SIGTERM on every deploy. The process stops taking events, lets answers in flight
finish (bounded by the drain timeout), closes the database and exits 0 so the platform records a
clean stop rather than a crash.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from bots.slack.app import SlackBot
from bots.slack.config import load_slack_config
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)


async def run_slack(settings: Settings, *, env: Mapping[str, str] | None = None) -> int:
    """Run until SIGTERM or SIGINT; returns the exit code. Bad configuration raises ConfigError."""
    config = load_slack_config(env)  # before anything slow, so a bad token fails in milliseconds
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = TripPlannerRunner(settings)
    await runner.start()
    bot = SlackBot(runner, config, drain_timeout_s=config.shutdown_timeout_s)
    try:
        await bot.start()
        log.info("Trip planner is on Slack (%s mode); stop with SIGTERM", "Socket" if config.socket_mode else "HTTP")
        await stop.wait()
        log.info("Stopping: no new Slack events; %d answer(s) in flight", bot.in_flight)
        await bot.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.close()
    log.info("Slack app stopped")
    return 0

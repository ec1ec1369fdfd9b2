"""What an answer costs on the platforms' APIs, and when its first words show, end to end through the
real Bolt app and discord.py against the stand-ins, with the streaming stand-in model
(bench/stream_model.py: an answer that takes 2 s, a chunk every 50 ms).

Rows: Web API / REST calls per answer in a DM (ours against the one post a bare bot makes), and the
time from the person's message to the first visible text of the answer against the time to the whole
answer, on Slack (agent view: the answer streams into the DM's thread) and on Discord (one message
edited as it grows). The call counts are what rate limits apply to: Slack allows chat.postMessage
about once a second per channel, assistant.threads.setStatus at its Tier 3 (50+ a minute) and
chat.stopStream at Tier 2 (20+ a minute); Discord 5 messages and 5 edits per 5 s per channel.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from bench.stream_model import StreamingModel, streaming_agent
from bench.table import Row
from bots.slack import SlackBot
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN, running_bot
from tests.standins.slack import SlackStandIn
from tests.test_slack_events import config_for
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

ANSWERS = 5
log = logging.getLogger("bench.api_calls")


async def _slack(folder: Path) -> tuple[Counter[str], list[float], list[float]]:
    slack = SlackStandIn()
    await slack.start()
    runner = TripPlannerRunner(Settings(database_url=f"sqlite+aiosqlite:///{folder / 'slack.db'}"), agent=streaming_agent())
    await runner.start()
    bot = SlackBot(runner, replace(config_for(slack), agent_view=True), drain_timeout_s=5)
    await bot.start()
    url = f"http://127.0.0.1:{bot.http_port}/slack/events"
    first: list[float] = []
    whole: list[float] = []
    try:
        before = len(slack.calls)
        for n in range(ANSWERS):
            channel = f"D0BENCH{n:04d}"
            start = time.perf_counter()
            await slack.send_event(url, slack.user_message(user=f"U0BENCH{n:04d}", channel=channel, text="Plan Lisbon in May"))
            while not slack.bot_messages(channel):
                await asyncio.sleep(0.005)
            first.append(time.perf_counter() - start)
            while not slack.bot_messages(channel)[0].get("metadata") or slack.statuses:  # the final first part, status gone
                await asyncio.sleep(0.005)
            whole.append(time.perf_counter() - start)
        await asyncio.sleep(0.2)
        calls = Counter(c.method for c in slack.calls[before:] if c.method != "auth.test")
    finally:
        await bot.stop()
        await runner.close()
        await slack.close()
    return calls, first, whole


async def _discord(folder: Path) -> tuple[Counter[str], list[float], list[float]]:
    first: list[float] = []
    whole: list[float] = []
    async with DiscordStandIn(token=TOKEN) as standin:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{folder / 'discord.db'}")
        async with running_bot(standin, settings, agent=streaming_agent(), sync_commands=False):
            before = len(standin.calls)
            for n in range(ANSWERS):
                user = 1200000000000000000 + n
                channel = standin.dm_channel(user)
                start = time.perf_counter()
                await standin.send_dm(user, "Plan Lisbon in May")
                while not standin.sent_messages(channel):
                    await asyncio.sleep(0.005)
                first.append(time.perf_counter() - start)
                while not any(m.get("components") for m in standin.channel_messages[channel].values()):  # the final edit
                    await asyncio.sleep(0.005)
                whole.append(time.perf_counter() - start)
            await asyncio.sleep(0.2)
            calls = Counter(f"{c.method} {c.path.split('/')[-1] if c.method != 'PATCH' else 'edit'}" for c in standin.calls[before:])
            return calls, first, whole


async def run() -> list[Row]:
    logging.getLogger("google_adk").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        slack_calls, first, whole = await _slack(Path(tmp))
        discord_calls, discord_first, discord_whole = await _discord(Path(tmp))
    log.info("Slack calls for %d answers: %s; Discord: %s", ANSWERS, dict(slack_calls), dict(discord_calls))
    chunked = f"{StreamingModel.__name__}, 2 s answer"
    return [
        Row(f"API calls per answer (DM, {chunked})", "Slack Web API calls per answer", sum(slack_calls.values()) / ANSWERS,
            1.0, unit="calls", baseline_name="a bare bot's one chat.postMessage"),
        Row(f"API calls per answer (DM, {chunked})", "Discord REST calls per answer", sum(discord_calls.values()) / ANSWERS,
            1.0, unit="calls", baseline_name="a bare bot's one message"),
        Row(f"first visible text (Slack DM, {chunked})", "time to the answer's first words, median",
            statistics.median(first) * 1000, statistics.median(whole) * 1000, baseline_name="time to the whole answer"),
        Row(f"first visible text (Discord DM, {chunked})", "time to the answer's first words, median",
            statistics.median(discord_first) * 1000, statistics.median(discord_whole) * 1000,
            baseline_name="time to the whole answer"),
    ]

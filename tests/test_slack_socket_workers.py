"""Several Socket Mode workers: Slack spreads envelopes over every open connection of the app, and
redelivers an unacknowledged one, possibly down another connection. Two workers (each its own runner,
as two processes would be) on one database: every message answered once, each person's in order."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from bots.slack import SlackBot, SlackConfig
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from trip_planner.config import Settings
from trip_planner.core.replies import PLACEHOLDER
from trip_planner.core.runner import TripPlannerRunner

PEOPLE, EACH = 5, 4


async def test_two_socket_mode_workers_answer_every_message_once_in_order(settings: Settings, slack: SlackStandIn) -> None:
    seed = random.randrange(1_000_000)
    print(f"seed {seed}")
    rng = random.Random(seed)
    config = SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url)
    runners = [TripPlannerRunner(settings) for _ in range(2)]
    bots: list[SlackBot] = []
    try:
        for runner in runners:
            await runner.start()
            bot = SlackBot(runner, config, drain_timeout_s=10)
            await bot.start()
            bots.append(bot)
        await wait_until(lambda: slack.socket_connections >= 2, what="two Socket Mode connections")
        sent: dict[str, list[str]] = {}
        for n in range(EACH):
            for p in range(PEOPLE):
                channel = f"D0PERSON{p:03d}"
                text = f"Trip to Rome in June, question {n + 1}"
                payload = slack.event_callback(slack.user_message(user=f"U0PERSON{p:03d}", channel=channel, text=text))
                sent.setdefault(channel, []).append(text)
                envelope = await slack.send_envelope(payload, connection=rng.randrange(2))
                await asyncio.wait_for(envelope.acked.wait(), 5)
                if rng.random() < 0.3:  # Slack redelivers it, down either connection
                    again = await slack.send_envelope(payload, retry_attempt=1, connection=rng.randrange(2))
                    await asyncio.wait_for(again.acked.wait(), 5)

        def answered() -> bool:
            return all(
                len([m for m in slack.bot_messages(ch) if m["text"] != PLACEHOLDER]) >= EACH for ch in sent
            ) and all(b.in_flight == 0 for b in bots)

        await wait_until(answered, timeout=60, what="every message answered")
        await asyncio.sleep(0.5)
        for channel, texts in sent.items():
            messages = slack.bot_messages(channel)
            assert len(messages) == EACH, f"seed {seed}: {channel} got {len(messages)} answers for {EACH} messages"
            user_id = f"slack:{slack.team_id}:{channel}:U0PERSON{channel[-3:]}"
            queries = await runners[0].sessions.get_queries(user_id)
            assert [q["query"] for q in queries] == texts, f"seed {seed}: {channel} history out of order"
        keys = Counter(c.args.get("channel") for c in slack.calls_to("chat.postMessage"))
        assert all(keys[ch] == EACH for ch in sent), keys
    finally:
        for bot in bots:
            await bot.stop()
        for runner in runners:
            await runner.close()

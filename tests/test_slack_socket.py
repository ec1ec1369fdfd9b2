"""Socket Mode end to end, and `trip-planner slack` as a real process (SIGTERM, bad configuration)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.slack import SlackBot, SlackConfig
from trip_planner.core.replies import PLACEHOLDER
from trip_planner.core.replies import NEW_TRIP as NEW_TRIP_REPLY
from tests.standins.slack import SlackStandIn, slack_standin, wait_until  # noqa: F401  (the `slack` fixture)
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

ALICE, DM = "U0ALICE001", "D0ALICEDM1"
LISBON = "I want to go to Lisbon for 4 days in May"
TRIP_PLANNER = Path(sys.executable).with_name("trip-planner")


@pytest.fixture
async def socket_bot(runner: TripPlannerRunner, slack: SlackStandIn) -> AsyncIterator[SlackBot]:
    config = SlackConfig(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url)
    bot = SlackBot(runner, config, drain_timeout_s=10)
    await bot.start()
    yield bot
    await bot.stop()


def answers(slack: SlackStandIn, channel: str) -> list[str]:
    return [m["text"] for m in slack.bot_messages(channel) if m["text"] != PLACEHOLDER]


async def test_socket_mode_acks_answers_and_recognises_retries(socket_bot: SlackBot, slack: SlackStandIn) -> None:
    assert slack.calls_to("apps.connections.open")[0].token == slack.app_token
    payload = slack.event_callback(slack.user_message(user=ALICE, channel=DM, text=LISBON))
    first = await slack.send_envelope(payload)
    await asyncio.wait_for(first.acked.wait(), 5)
    assert first.ack == {"envelope_id": first.envelope_id}
    await wait_until(lambda: len(answers(slack, DM)) == 1 and socket_bot.in_flight == 0, what="the answer")
    assert "Lisbon" in answers(slack, DM)[0]

    # Slack redelivers (retry_attempt 1): acknowledged, and no second answer.
    retry = await slack.send_envelope(payload, retry_attempt=1)
    await asyncio.wait_for(retry.acked.wait(), 5)
    control = await slack.send_envelope(slack.event_callback(slack.user_message(user=ALICE, channel="D0OTHERDM1", text="Hi")))
    await asyncio.wait_for(control.acked.wait(), 5)
    await wait_until(lambda: len(answers(slack, "D0OTHERDM1")) == 1 and socket_bot.in_flight == 0, what="control")
    assert len(slack.bot_messages(DM)) == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == DM]) == 1

    # Events nobody listens for are still acknowledged (an unacked envelope is redelivered).
    other = await slack.send_envelope(slack.event_callback({"type": "app_home_opened", "user": ALICE, "channel": DM, "tab": "home", "event_ts": "1.1"}))
    await asyncio.wait_for(other.acked.wait(), 5)


async def test_socket_mode_slash_command_replies_in_the_ack(socket_bot: SlackBot, slack: SlackStandIn, runner: TripPlannerRunner) -> None:
    envelope = await slack.send_envelope(slack.command_payload(user=ALICE, channel=DM, text="new"), type="slash_commands")
    await asyncio.wait_for(envelope.acked.wait(), 5)
    assert envelope.ack is not None and envelope.ack["payload"]["text"] == NEW_TRIP_REPLY
    assert await runner.sessions.current_conversation(f"slack:{slack.team_id}:{DM}:{ALICE}") is not None


def _env(tmp_path: Path, slack: SlackStandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_") and k not in ("PORT", "DATABASE_URL")}
    env.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
            "TRIP_PLANNER_MODEL": "offline",
            "OPIK_TRACK_DISABLE": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


async def test_trip_planner_slack_stops_gracefully_on_sigterm(tmp_path: Path, slack: SlackStandIn) -> None:
    env = _env(tmp_path, slack, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token, SLACK_API_URL=slack.api_url)
    process = await start_trip_planner_slack(tmp_path, env)
    try:
        await slack.wait_socket(timeout=30)
        # The answer's first post is rate limited, so the answer is provably still in flight (waiting out
        # Retry-After) when SIGTERM arrives: it must be delivered before the process exits. (In a DM the
        # status line shows progress; the answer is a new message, not an edited placeholder.)
        slack.fail_next("chat.postMessage", status=429, retry_after=2)
        await slack.send_envelope(slack.event_callback(slack.user_message(user=ALICE, channel=DM, text=LISBON)))
        await wait_until(lambda: bool(slack.calls_to("chat.postMessage", ok_only=False)), timeout=30, what="the first post")
        stdout, stderr = await sigterm(process)
    finally:
        await reap(process)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)] == [429, 200]
    assert "Lisbon" in answers(slack, DM)[0]
    assert slack.bot_token not in log and slack.app_token not in log
    assert stdout == b""


async def start_trip_planner_slack(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(TRIP_PLANNER), "slack", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def sigterm(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    """Stop it as a platform does on deploy; its output once it has exited."""
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.communicate(), 40)


async def reap(process: asyncio.subprocess.Process) -> None:
    """A test that failed half-way must not leave the bot running."""
    if process.returncode is None:
        process.kill()
        await process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_trip_planner_slack_over_http_answers_then_stops_on_sigterm(tmp_path: Path, slack: SlackStandIn) -> None:
    port = _free_port()
    env = _env(
        tmp_path, slack, SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_API_URL=slack.api_url, PORT=str(port), HOST="127.0.0.1",
    )
    process = await start_trip_planner_slack(tmp_path, env)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await wait_until(lambda: bool(slack.calls_to("auth.test")), timeout=30, what="start-up")
        status = 0
        for _ in range(200):  # the port opens just after auth.test
            try:
                status, _ = await slack.send_event(url, slack.user_message(user=ALICE, channel=DM, text=LISBON))
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert status == 200
        await wait_until(lambda: len(slack.bot_messages(DM)) == 1, timeout=30, what="the placeholder")
        _stdout, stderr = await sigterm(process)
    finally:
        await reap(process)
    assert process.returncode == 0, stderr.decode()
    assert "Lisbon" in answers(slack, DM)[0]
    assert slack.signing_secret not in stderr.decode()


async def test_trip_planner_slack_without_a_token_exits_2_with_one_line(tmp_path: Path, slack: SlackStandIn) -> None:
    process = await asyncio.create_subprocess_exec(
        str(TRIP_PLANNER), "slack", cwd=tmp_path, env=_env(tmp_path, slack),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0]
    assert slack.calls == []


async def test_a_refused_token_stops_start_up_with_a_clear_line(settings: Settings, slack: SlackStandIn) -> None:
    from trip_planner.config import ConfigError

    runner = TripPlannerRunner(settings)
    await runner.start()
    try:
        bot = SlackBot(runner, SlackConfig(bot_token="xoxb-revoked-token", app_token=slack.app_token, api_url=slack.api_url))
        with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN was refused by Slack \\(invalid_auth\\)"):
            await bot.start()
    finally:
        await runner.close()
    assert slack.socket_connections == 0


async def test_trip_planner_slack_shows_the_whole_flow(tmp_path: Path, slack: SlackStandIn) -> None:
    """The issue's "done when", as an operator would see it: `trip-planner slack` against the stand-in,
    a DM conversation that keeps context, a thread conversation after a mention, and 👍 closing it."""
    from trip_planner.core.replies import SATISFIED as SATISFIED_REPLY

    channel = "C0GENERAL1"
    env = _env(tmp_path, slack, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token, SLACK_API_URL=slack.api_url)
    process = await start_trip_planner_slack(tmp_path, env)

    async def say(event: dict, place: str, count: int, thread_ts: str | None = None) -> str:
        await slack.send_envelope(slack.event_callback(event))

        def done() -> bool:
            msgs = [m for m in slack.bot_messages(place, thread_ts=thread_ts) if m["text"] != PLACEHOLDER]
            return len(msgs) >= count

        await wait_until(done, timeout=30, what=f"answer {count} in {place}")
        return [m["text"] for m in slack.bot_messages(place, thread_ts=thread_ts) if m["text"] != PLACEHOLDER][-1]

    try:
        await slack.wait_socket(timeout=30)
        assert "Lisbon" in await say(slack.user_message(user=ALICE, channel=DM, text=LISBON), DM, 1)
        assert "Lisbon" in await say(slack.user_message(user=ALICE, channel=DM, text="What hotels?"), DM, 2)

        mention = slack.user_message(user=ALICE, channel=channel, text=f"<@{slack.bot_user_id}> Trip to Rome in June")
        assert "Rome" in await say(slack.app_mention(mention), channel, 1, thread_ts=mention["ts"])
        follow = slack.user_message(user=ALICE, channel=channel, text="What would it cost?", thread_ts=mention["ts"])
        assert "Rome" in await say(follow, channel, 2, thread_ts=mention["ts"])

        answer = [m for m in slack.bot_messages(channel, thread_ts=mention["ts"]) if m["text"] != PLACEHOLDER][-1]
        await slack.send_envelope(slack.event_callback(slack.reaction_added(user=ALICE, channel=channel, ts=answer["ts"])))
        await wait_until(
            lambda: any(m["text"] == SATISFIED_REPLY for m in slack.bot_messages(channel, thread_ts=mention["ts"])),
            timeout=30, what="the 👍 confirmation in the thread",
        )
        _stdout, stderr = await sigterm(process)
    finally:
        await reap(process)
    assert process.returncode == 0, stderr.decode()

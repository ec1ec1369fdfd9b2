"""`trip-planner discord` as an operator runs it: configuration errors, --sync-commands, and the whole
flow in a real process against the stand-in (DM, restart with context kept, 👍, /newtrip, SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from trip_planner.core.replies import NEW_TRIP as NEW_TRIP_REPLY
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN
from trip_planner.cli import main
from trip_planner.core.replies import SATISFIED as SATISFIED_REPLY

ALICE = 420000000000000001


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_missing_token_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["discord"]) == 2
    err = _errors(caplog)
    assert len(err) == 1 and err[0].startswith("configuration error: DISCORD_TOKEN is not set")
    assert not (tmp_path / "db.sqlite").exists(), "nothing starts before the configuration is valid"


def test_malformed_token_stops_with_one_line_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "s3cr3t-client-secret-value")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["discord"]) == 2
    err = _errors(caplog)
    assert len(err) == 1 and "DISCORD_TOKEN does not look like a bot token" in err[0]
    assert "s3cr3t" not in caplog.text


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    stderr: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def log_has(self, text: str) -> bool:
        return any(text in line for line in self.stderr)


async def _read(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


@contextlib.asynccontextmanager
async def bot_process(standin: DiscordStandIn, tmp_path: Path, *args: str) -> AsyncIterator[BotProcess]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "TRIP_PLANNER_", "GOOGLE_"))},
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": standin.api_url,
        "DISCORD_GATEWAY_URL": standin.gateway_url,
        "DISCORD_SHUTDOWN_TIMEOUT": "20",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'trip_planner.db'}",
        "TRIP_PLANNER_MODEL": "offline",
        "OPIK_TRACK_DISABLE": "true",
        "OPIK_SENTRY_ENABLE": "false",
        "OPIK_ANALYTICS_ENABLE": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trip_planner.cli", "discord", *args,
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(process)
    assert process.stderr is not None
    bot.reader = asyncio.create_task(_read(process.stderr, bot.stderr))
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await bot.reader


async def _exit_code(bot: BotProcess) -> int:
    return await asyncio.wait_for(bot.process.wait(), timeout=30)


async def test_whole_flow_across_a_restart_and_sigterm(tmp_path: Path) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        channel = standin.dm_channel(ALICE)

        def answers() -> list[dict]:
            return [c.body for c in standin.calls_to("POST", rf"/channels/{channel}/messages") if c.status == 200]

        async with bot_process(standin, tmp_path) as bot:
            await standin.wait_until(lambda: standin.sessions and standin.sessions[-1].identified, timeout=60,
                                     what="the bot process to connect")
            await standin.send_dm(ALICE, "I want to go to Lisbon")
            await standin.wait_until(lambda: answers(), what="the first answer")
            assert "Lisbon" in answers()[0]["content"]

            # SIGTERM while an answer is in flight: it is still delivered, then the gateway closes.
            gate = standin.hold("POST", rf"/channels/{channel}/messages")
            await standin.send_dm(ALICE, "What is the weather like in June?")
            await standin.wait_until(lambda: len(standin.calls_to("POST", rf"/channels/{channel}/messages")) >= 2,
                                     what="the second answer to be sent")
            bot.process.send_signal(signal.SIGTERM)
            await standin.wait_until(lambda: bot.log_has("answers in flight before closing"), what="the drain")
            session = standin.sessions[-1]
            assert session.open
            gate.set()
            assert await _exit_code(bot) == 0
            assert len(answers()) == 2
            held = standin.calls_to("POST", rf"/channels/{channel}/messages")[1]
            await standin.wait_until(lambda: session.closed_seq is not None, what="the gateway to close")
            assert held.done_seq is not None and session.closed_seq is not None and held.done_seq < session.closed_seq
            assert not any(TOKEN in line for line in bot.stderr), "the token is never logged"

        async with bot_process(standin, tmp_path) as bot:  # restart on the same database
            await standin.wait_until(lambda: len([s for s in standin.sessions if s.identified]) >= 2, timeout=60,
                                     what="the restarted bot to connect")
            await standin.send_dm(ALICE, "for 5 days")
            await standin.wait_until(lambda: len(answers()) >= 3, what="the answer after the restart")
            assert "Lisbon" in answers()[2]["content"], "the conversation kept its context across the restart"

            first_answer = standin.created_ids[standin.calls_to("POST", rf"/channels/{channel}/messages")[0].seq]
            await standin.add_reaction(user_id=ALICE, channel_id=channel, message_id=first_answer, emoji="👍")
            await standin.wait_until(lambda: any(a["content"] == SATISFIED_REPLY for a in answers()), what="👍 closing")

            interaction = await standin.invoke_command("newtrip", user_id=ALICE)
            calls = await standin.wait_until(lambda: standin.interaction_calls(interaction), what="/newtrip")
            assert calls[0].body["data"]["content"] == NEW_TRIP_REPLY

            bot.process.send_signal(signal.SIGTERM)
            assert await _exit_code(bot) == 0


async def test_sync_commands_registers_and_exits(tmp_path: Path) -> None:
    async with DiscordStandIn(token=TOKEN) as standin:
        async with bot_process(standin, tmp_path, "--sync-commands") as bot:
            assert await _exit_code(bot) == 0
        puts = standin.calls_to("PUT", r"/applications/\d+/commands")
        assert len(puts) == 1 and {c["name"] for c in puts[0].body} == {"newtrip", "endtrip", "trip", "forget"}
        assert not standin.sessions, "--sync-commands does not connect to the gateway"

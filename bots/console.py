"""The planner in a terminal: one line in, one answer out, through the same channel contract as
Slack and Discord (the console is the third platform: it proves the contract fits).

Reads stdin (a terminal or a pipe), prints only answers to stdout; logs go to stderr. The user id is
`console:{name}` so a conversation continues across runs of the same name.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import uuid
from typing import Any, TextIO

from trip_planner.config import Settings
from trip_planner.core import replies
from trip_planner.core.channel import Channel, Inbound
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

COMMANDS = {"/new": "new", "/end": "end"}
FORGET_CONFIRM = "/forget confirm"


def console_user_id(name: str) -> str:
    return f"console:{name}"


def default_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "local"


class ConsoleChannel(Channel):
    """A terminal: an answer is printed whole; nothing to look up, nothing to catch up."""

    platform = "console"

    def __init__(self, stdout: TextIO) -> None:
        self.stdout = stdout

    def render(self, text: str) -> list[str]:
        return [text]

    async def post(self, inbound: Inbound, part: int, text: str, *, progress: Any = None) -> str | None:
        self.say(text + "\n")
        return f"{inbound.message_id}#{part}"

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


async def _read_line(stream: TextIO) -> str | None:
    line = await asyncio.to_thread(stream.readline)
    return line if line else None


async def run_console(
    settings: Settings, *, name: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    runner = TripPlannerRunner(settings)
    await runner.start()
    channel = ConsoleChannel(stdout)
    user_id = console_user_id(name)
    interactive = stdin.isatty()
    if interactive:
        channel.say(replies.ready(settings.model))
    try:
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
            line = await _read_line(stdin)
            if line is None:
                break
            command = line.strip().lower()
            if command in ("/quit", "/exit"):
                break
            if command in COMMANDS:
                channel.say(await runner.command(user_id, COMMANDS[command]))
                continue
            if command == "/forget":
                channel.say(replies.forget_confirm(FORGET_CONFIRM))
                continue
            if " ".join(command.split()) == FORGET_CONFIRM:
                channel.say(await runner.forget([user_id]))  # the console's person is this one id
                continue
            if command == "/help":
                channel.say(replies.console_help())
                continue
            inbound = Inbound(message_id=f"console:{uuid.uuid4().hex}", user_id=user_id, text=line.rstrip("\n"))
            await runner.handle(inbound, channel)
    finally:
        await runner.close()

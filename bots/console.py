"""The planner in a terminal: one line in, one answer out.

Reads stdin (a terminal or a pipe), prints only answers to stdout; logs go to stderr. The user id is
`console:{name}` so a conversation continues across runs of the same name.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from typing import TextIO

from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

HELP = "Commands: /new starts a new trip, /end finishes this one (as satisfied), /quit leaves."


def console_user_id(name: str) -> str:
    return f"console:{name}"


def default_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "local"


async def _read_line(stream: TextIO) -> str | None:
    line = await asyncio.to_thread(stream.readline)
    return line if line else None


async def run_console(
    settings: Settings, *, name: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    runner = TripPlannerRunner(settings)
    await runner.start()
    user_id = console_user_id(name)
    interactive = stdin.isatty()
    if interactive:
        print(f"Trip planner ready ({settings.model} model). {HELP}", file=stdout, flush=True)
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
            if command == "/new":
                await runner.new_conversation(user_id)
                print("Started a new trip. Where would you like to go?", file=stdout, flush=True)
                continue
            if command == "/end":
                ended = await runner.end_conversation(user_id, "satisfied")
                print("Glad I could help! Trip closed." if ended else "There is no open trip to end.",
                      file=stdout, flush=True)
                continue
            if command == "/help":
                print(HELP, file=stdout, flush=True)
                continue
            reply = await runner.ask(user_id, line.rstrip("\n"))
            print(reply.text + "\n", file=stdout, flush=True)
    finally:
        await runner.close()

"""`trip-planner chat`: the seed conversation through a pipe, and across a restart of the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEED = [
    "I want to plan a trip to Paris in March 2025",
    "What's the weather like in March?",
    "What if I increase my budget to $2,000?",
]


def chat(db: Path, lines: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "OPIK_TRACK_DISABLE": "true"}
    env.pop("OPIK_URL_OVERRIDE", None)
    env.pop("OPIK_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "trip_planner.cli", "chat", "--user", "tester", *extra],
        input="".join(line + "\n" for line in lines),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_three_seed_lines_give_three_answers_about_paris(tmp_path: Path) -> None:
    result = chat(tmp_path / "db.sqlite", SEED)
    blocks = result.stdout.strip().split("### ")
    blocks = [b for b in blocks if b.strip()]
    assert len(blocks) == 3, result.stdout
    assert all("Paris" in b for b in blocks)
    assert "March" in blocks[1] and "°C" in blocks[1]
    assert "$2,000" in blocks[2]
    # Only answers on stdout; the seed's console lines are log records on stderr.
    assert "Created new session for user 'console:tester'" in result.stderr
    assert "Conversation ID: conv_" in result.stderr
    assert "Using existing session for user 'console:tester'" in result.stderr
    assert "INFO" not in result.stdout


def test_a_restart_between_lines_keeps_paris(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    chat(db, SEED[:2])
    result = chat(db, SEED[2:])
    assert "Paris" in result.stdout and "$2,000" in result.stdout
    assert "Using existing session for user 'console:tester'" in result.stderr


def test_commands_new_end_quit(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    result = chat(db, ["Trip to Rome", "/new", "How much would it cost?", "/end", "/end", "/quit", "never read"])
    out = result.stdout
    assert "Started a new trip" in out
    assert "Rome" not in out.split("Started a new trip")[1]  # the new trip forgot Rome
    assert out.count("Glad I could help") == 1 and "There is no open trip to end." in out
    assert "never read" not in result.stderr

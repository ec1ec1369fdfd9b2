"""TRIP_PLANNER_LOG_FORMAT=json: the real CLI in a subprocess (its logging set up as in production),
a conversation through the console adapter, and every stderr line read back as JSON. Neither format
puts the person's words in an INFO line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trip_planner.config import ConfigError, load_log_format
from trip_planner.core.json_logs import JsonFormatter
from trip_planner.core.log_context import ContextFilter, bind_conversation, turn_context
from trip_planner.core.channel import Inbound

# Words only the person wrote: a place the planner knows (it ends up in the trip), and a marker.
LINES = ["I want to plan a trip to Lisbon in May, say hello to Wobbleton-7731", "What about a budget of $1,800?"]
REPO = Path(__file__).resolve().parents[1]
PRIVATE = ("Lisbon", "Wobbleton-7731", "1,800", "1800")


def chat(tmp_path: Path, log_format: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", "OPIK_TRACK_DISABLE": "true"}
    for name in ("OPIK_URL_OVERRIDE", "OPIK_API_KEY", "TRIP_PLANNER_LOG_FORMAT"):
        env.pop(name, None)
    if log_format is not None:
        env["TRIP_PLANNER_LOG_FORMAT"] = log_format
    # Run in a clean directory (no stray .env), importing this checkout.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "trip_planner.cli", "--log-level", "INFO", "chat", "--user", "tester"],
        input="".join(line + "\n" for line in LINES),
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def test_json_lines_carry_level_logger_and_the_turns_ids(tmp_path: Path) -> None:
    result = chat(tmp_path, "json")
    assert result.returncode == 0, result.stderr
    assert "Lisbon" in result.stdout  # answered
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(r["time"].endswith("Z") and "T" in r["time"] for r in records)

    stored = [r for r in records if r["message"].startswith("Stored message console:")]
    assert len(stored) == 2 and all(r["level"] == "INFO" and r["logger"] == "trip_planner.core.runner" for r in stored)
    assert all(r["message_id"] == r["message"].split()[-1] and r["platform"] == "console" for r in stored)
    in_turn = [r for r in records if "message_id" in r]
    assert in_turn and all(r["platform"] == "console" and r["message_id"].startswith("console:") for r in in_turn)
    # Lines logged once the conversation is known carry its id (the planner's tool lines, for one).
    updated = [r for r in records if r["message"].startswith("Trip updated")]
    assert updated and all(r["conversation_id"].startswith("conv_") for r in updated)
    assert {r["message_id"] for r in updated} <= {r["message"].split()[-1] for r in stored}
    # Outside a turn (start-up), no ids.
    assert not any("message_id" in r for r in records if "Opik tracing off" in r["message"])


@pytest.mark.parametrize("log_format", [None, "json"])
def test_no_message_text_at_info_in_either_format(tmp_path: Path, log_format: str | None) -> None:
    result = chat(tmp_path, log_format)
    assert result.returncode == 0, result.stderr
    assert "INFO" in result.stderr  # INFO lines were written
    for word in PRIVATE:
        assert word not in result.stderr, f"{word!r} reached the log"


def test_a_bad_log_format_is_one_clear_line(tmp_path: Path) -> None:
    result = chat(tmp_path, "yaml")
    assert result.returncode == 2
    assert "TRIP_PLANNER_LOG_FORMAT='yaml' is not known; use text or json." in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(ConfigError):
        load_log_format({"TRIP_PLANNER_LOG_FORMAT": "xml"})
    assert load_log_format({}) == "text" and load_log_format({"TRIP_PLANNER_LOG_FORMAT": "JSON"}) == "json"


def test_a_value_cannot_break_a_line_or_forge_a_field() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    formatter = JsonFormatter()
    logger = logging.getLogger("tests.json_logs")
    with turn_context(Inbound(message_id="slack:T1:C1:1.2", user_id="slack:T1:C1:U1", text="")):
        bind_conversation("conv_1")
        record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, 'evil\n{"level": "%s"}', ("DEBUG",), None)
        handler.filter(record)
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING" and parsed["message"] == 'evil\n{"level": "DEBUG"}'
    assert (parsed["platform"], parsed["message_id"], parsed["conversation_id"]) == ("slack", "slack:T1:C1:1.2", "conv_1")
    # Outside the turn the ids are gone again.
    after = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "later", (), None)
    handler.filter(after)
    assert set(json.loads(formatter.format(after))) == {"time", "level", "logger", "message"}

"""Configuration: embedded defaults, and one clear line for each bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trip_planner.config import DEFAULT_DATABASE_URL, ConfigError, load_settings


def test_defaults_need_no_keys() -> None:
    s = load_settings({})
    assert s.model == "offline"
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.app_name == "trip_planner_concierge"
    assert s.opik_project == "AI Travel Planner"
    assert s.max_message_chars == 4000


def test_gemini_is_default_when_keyed() -> None:
    assert load_settings({"GOOGLE_API_KEY": "k"}).model.startswith("gemini")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": "sqlite:///./x.db"}, ["DATABASE_URL", "sqlite+aiosqlite://"]),
        ({"DATABASE_URL": "postgresql://u@h/db"}, ["DATABASE_URL", "postgresql+asyncpg://"]),
        ({"DATABASE_URL": "mysql+aiomysql://h/db"}, ["DATABASE_URL", "not supported"]),
        ({"DATABASE_URL": "nonsense"}, ["DATABASE_URL", "not a URL"]),
        ({"TRIP_PLANNER_TURN_TIMEOUT": "soon"}, ["TRIP_PLANNER_TURN_TIMEOUT", "number"]),
        ({"TRIP_PLANNER_MAX_MESSAGE_CHARS": "0"}, ["TRIP_PLANNER_MAX_MESSAGE_CHARS", "at least 1"]),
        ({"TRIP_PLANNER_MODEL": "gemini-2.5-flash"}, ["GOOGLE_API_KEY"]),
        ({"TRIP_PLANNER_MODEL": "gpt-9"}, ["TRIP_PLANNER_MODEL", "litellm/"]),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    message = str(err.value)
    assert "\n" not in message
    for name in names:
        assert name in message


def test_database_password_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"DATABASE_URL": "postgresql://bob:s3cret@db:5432/trips"})
    assert "s3cret" not in str(err.value)
    assert "postgresql+asyncpg://bob@db:5432/trips" in str(err.value)


def test_cli_stops_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "trip_planner.cli", "chat"],
        env={"DATABASE_URL": "sqlite:///./x.db", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and "sqlite+aiosqlite" in lines[0]

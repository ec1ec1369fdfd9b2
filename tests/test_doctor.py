"""`trip-planner doctor` against the stand-ins: the real Slack SDK, HTTP to the Discord and Gemini
stand-ins, the Opik stand-in, real databases. Each problem gets one ✗ line with its fix."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import pytest

from bots.doctor import run_doctor
from bots.doctor.platform_checks import PRIVILEGED, check_discord, manifest_scopes
from tests.standins.discord import DiscordStandIn
from tests.standins.discord_harness import TOKEN
from tests.standins.gemini import GeminiStandIn
from tests.standins.opik import OpikStandIn
from tests.standins.opik_env import point_opik_at
from tests.standins.slack import SlackStandIn, slack_standin  # noqa: F401  (the `slack` fixture)
from trip_planner.config import Settings
from trip_planner.core.runner import TripPlannerRunner

REPO = Path(__file__).resolve().parents[1]
GEMINI_KEY = "AIzaStandInKeyForDoctorTests"
OTHER_DISCORD_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMg.GtEsTy.d3JvbmctdG9rZW4tZm9yLXRoZS1kb2N0b3ItdGVzdA"


async def doctor(env: dict[str, str]) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = await run_doctor(env, out=out)
    return code, out.getvalue().splitlines()


def line(lines: list[str], name: str) -> str:
    found = [i for i, text in enumerate(lines) if text[2:].startswith(name + ":")]
    assert found, f"no {name!r} line in {lines}"
    i = found[0]
    fix = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("    fix: ") else ""
    return lines[i] + ("\n" + fix if fix else "")


async def prepared(database_url: str) -> None:
    """A database as the bot leaves it after its first start."""
    runner = TripPlannerRunner(Settings(database_url=database_url))
    await runner.start()
    await runner.close()


@pytest.fixture
def no_opik(monkeypatch: pytest.MonkeyPatch) -> None:
    point_opik_at(monkeypatch, None)


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GeminiStandIn]:
    server = GeminiStandIn(api_key=GEMINI_KEY)
    await server.start()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    yield server
    await server.stop()


@pytest.fixture
def opik(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpikStandIn]:
    with OpikStandIn("ok") as server:
        point_opik_at(monkeypatch, server.url)
        yield server


async def test_a_healthy_deployment_passes_every_check(
    sqlite_url: str, slack: SlackStandIn, discord_standin: DiscordStandIn, gemini: GeminiStandIn, opik: OpikStandIn
) -> None:
    await prepared(sqlite_url)
    slack.scopes = sorted(manifest_scopes() or [])
    env = {
        "DATABASE_URL": sqlite_url, "TRIP_PLANNER_MODEL": "gemini-2.5-flash", "GOOGLE_API_KEY": GEMINI_KEY,
        "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token, "SLACK_API_URL": slack.api_url,
        "DISCORD_TOKEN": TOKEN, "DISCORD_API_URL": discord_standin.api_url, "OPIK_URL_OVERRIDE": opik.url,
    }
    code, lines = await doctor(env)
    assert code == 0, lines
    checks = [text for text in lines if text[:2] in ("✓ ", "✗ ", "– ")]
    assert [text[:1] for text in checks] == ["✓"] * len(checks), lines
    names = [text[2:].split(":")[0] for text in checks]
    assert names == ["Configuration", "Database", "Slack bot token", "Slack scopes", "Slack app token",
                     "Discord bot token", "Discord intents", "Model", "Opik"]
    assert lines[-1] == "All checks passed."
    assert "all 10 scopes of the manifest granted" in line(lines, "Slack scopes")
    assert "no privileged intent needed" in line(lines, "Discord intents")
    assert "key accepted" in line(lines, "Model")
    # It asked the real things, and the secrets stayed out of the report.
    assert slack.calls_to("auth.test") and discord_standin.calls_to("GET", r"/applications/@me")
    assert opik.recorded("GET", "/api/v1/private/projects")
    for secret in (slack.bot_token, slack.app_token, TOKEN, GEMINI_KEY):
        assert secret not in "\n".join(lines)


async def test_slack_refused_token_and_missing_scopes(sqlite_url: str, slack: SlackStandIn, no_opik: None) -> None:
    await prepared(sqlite_url)
    base = {"DATABASE_URL": sqlite_url, "SLACK_SIGNING_SECRET": slack.signing_secret, "SLACK_API_URL": slack.api_url}
    granted = sorted((manifest_scopes() or set()) - {"reactions:read", "im:history"})
    slack.scopes = granted
    code, lines = await doctor({**base, "SLACK_BOT_TOKEN": slack.bot_token})
    assert code == 1
    scopes = line(lines, "Slack scopes")
    assert scopes.startswith("✗ Slack scopes: the token lacks im:history, reactions:read")
    assert "fix: add them under OAuth & Permissions" in scopes and "reinstall" in scopes
    assert line(lines, "Slack mode").startswith("✓")  # HTTP mode: nothing more to ask Slack

    code, lines = await doctor({**base, "SLACK_BOT_TOKEN": "xoxb-not-the-right-token"})
    assert code == 1
    token = line(lines, "Slack bot token")
    assert token.startswith("✗ Slack bot token: refused by Slack (invalid_auth)") and "fix: copy the Bot User OAuth Token" in token
    assert "xoxb-not-the-right-token" not in "\n".join(lines)

    code, lines = await doctor({**base, "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": "xapp-wrong"})
    assert line(lines, "Slack app token").startswith("✗ Slack app token: refused by Slack (invalid_auth)")


async def test_discord_refused_token_and_privileged_intents(
    sqlite_url: str, discord_standin: DiscordStandIn, no_opik: None
) -> None:
    await prepared(sqlite_url)
    env = {"DATABASE_URL": sqlite_url, "DISCORD_API_URL": discord_standin.api_url}
    code, lines = await doctor({**env, "DISCORD_TOKEN": OTHER_DISCORD_TOKEN})
    assert code == 1
    token = line(lines, "Discord bot token")
    assert token.startswith("✗ Discord bot token: rejected by Discord (401 Unauthorized)") and "Reset Token" in token

    # A bot that asked for message content would need the intent switched on in the portal.
    needs_content = discord.Intents.none()
    needs_content.message_content = True
    env = {**env, "DISCORD_TOKEN": TOKEN}
    checks = await check_discord(env, intents=needs_content)
    assert checks[1].ok is False and "Message Content Intent" in checks[1].detail
    assert "Privileged Gateway Intents" in checks[1].fix
    discord_standin.application_flags = PRIVILEGED["message_content"][2]  # the "limited" flag counts too
    assert (await check_discord(env, intents=needs_content))[1].ok is True


async def test_database_problems(database_url: str, tmp_path: Path, no_opik: None) -> None:
    if database_url.startswith("sqlite"):
        code, lines = await doctor({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'db.sqlite'}"})
        assert code == 1 and "no SQLite file at" in line(lines, "Database")
        assert not (tmp_path / "absent").exists(), "the doctor never creates a database"
        (tmp_path / "empty.sqlite").touch()
        empty_url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}"
    else:
        empty_url = database_url  # reset to an empty schema by the fixture
        code, lines = await doctor({"DATABASE_URL": database_url.replace(":5432/", ":1/")})
        database = line(lines, "Database")
        assert code == 1 and database.startswith("✗ Database: cannot connect to") and "fix: check DATABASE_URL" in database
    code, lines = await doctor({"DATABASE_URL": empty_url})
    database = line(lines, "Database")
    assert code == 1 and "tables are missing: app_states, events" in database and "fix: start the bot once" in database
    await prepared(empty_url)
    code, lines = await doctor({"DATABASE_URL": empty_url})
    assert code == 0 and line(lines, "Database").startswith("✓ Database: connected")


async def test_model_key_and_name(sqlite_url: str, gemini: GeminiStandIn, no_opik: None) -> None:
    await prepared(sqlite_url)
    env = {"DATABASE_URL": sqlite_url, "TRIP_PLANNER_MODEL": "gemini-2.5-flash"}
    code, lines = await doctor({**env, "GOOGLE_API_KEY": "AIzaWrongKey"})
    model = line(lines, "Model")
    assert code == 1 and model.startswith("✗ Model: GOOGLE_API_KEY was refused (400") and "aistudio" in model
    code, lines = await doctor({**env, "GOOGLE_API_KEY": GEMINI_KEY, "TRIP_PLANNER_MODEL": "gemini-0-nonexistent"})
    assert code == 1 and "is not a model this key can use (404)" in line(lines, "Model")
    code, lines = await doctor({"DATABASE_URL": sqlite_url})
    assert code == 0 and line(lines, "Model") == "✓ Model: the embedded offline planner (no key needed)"
    assert line(lines, "Slack").startswith("– Slack: not configured") and line(lines, "Opik").startswith("– Opik")


async def test_opik_down_is_a_problem_with_a_fix(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await prepared(sqlite_url)
    down = OpikStandIn("down").start()  # nothing listens there
    point_opik_at(monkeypatch, down.url)
    code, lines = await doctor({"DATABASE_URL": sqlite_url, "OPIK_URL_OVERRIDE": down.url})
    opik_line = line(lines, "Opik")
    assert code == 1 and opik_line.startswith("✗ Opik: cannot reach") and "fix: check OPIK_URL_OVERRIDE" in opik_line


async def test_bad_configuration_is_reported_not_raised(no_opik: None) -> None:
    code, lines = await doctor({"DATABASE_URL": "postgresql://user:hunter2@db/x"})
    assert code == 1
    config = line(lines, "Configuration")
    assert config.startswith("✗ Configuration: DATABASE_URL uses the synchronous") and "hunter2" not in config
    assert not any(text.startswith(("✓ Database", "✗ Database")) for text in lines)  # nothing to connect to


def test_the_cli_command_exits_1_on_a_problem_and_0_when_healthy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPIK_", "TRIP_PLANNER_", "GOOGLE_"))}
    env |= {"PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", "OPIK_TRACK_DISABLE": "true"}
    command = [sys.executable, "-m", "trip_planner.cli", "doctor"]
    first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1 and "✗ Database: no SQLite file" in first.stdout and first.stderr == ""
    # The bot's first start creates the database; then everything configured is fine.
    chat = [sys.executable, "-m", "trip_planner.cli", "chat", "--user", "doc"]
    subprocess.run(chat, env=env, cwd=tmp_path, input="/quit\n", capture_output=True, text=True, timeout=120, check=True)
    second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.strip().splitlines()[-1] == "All checks passed."

"""No secrets in errors, log lines nobody can forge, honest links: the core's rules, unit by unit."""

from __future__ import annotations

import io
import logging

import pytest

from bots.discord.formatting import render as discord_render
from trip_planner import cli
from trip_planner.config import ConfigError, check_database_url
from trip_planner.core import log_hygiene
from trip_planner.core.links import honest_markdown, label_is_honest
from trip_planner.core.redact import mask_url, redact

SECRET = "hunter2-Secret"


def test_urls_and_tokens_are_masked() -> None:
    assert mask_url(f"postgresql+asyncpg://bot:{SECRET}@db:5432/trips") == "postgresql+asyncpg://bot:****@db:5432/trips"
    assert mask_url("sqlite+aiosqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    text = redact(f"token xoxb-1234-5678-{SECRET} and xapp-1-A0-{SECRET} and key AIza{SECRET}")
    assert SECRET not in text and "xoxb-****" in text
    discord_token = "MTA1MjM0NTY3ODkwMTIzNDU2Nw.GhIjKl.abcdefghijklmnopqrstuvwxyz012345"
    assert "abcdefghijklmnop" not in redact(f"bad token {discord_token}")


@pytest.mark.parametrize("url", [
    f"mysql://bot:{SECRET}@db/trips",
    f"postgresql://bot:{SECRET}@db/trips",
    f"bot:{SECRET}@db/trips",
])
def test_a_bad_database_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_database_url(url)
    assert SECRET not in str(raised.value)


def test_the_cli_prints_configuration_errors_without_credentials(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:{SECRET}@db/trips")
    monkeypatch.setenv("TRIP_PLANNER_DATA_DIR", "/nonexistent-never-created")
    assert cli.main(["chat"]) == 2
    assert "configuration error" in caplog.text and SECRET not in caplog.text


def test_log_records_have_control_characters_escaped_and_secrets_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log_hygiene.install([handler])
    log_hygiene.install([handler])  # once only
    assert sum(isinstance(f, log_hygiene.LogHygiene) for f in handler.filters) == 1
    logger = logging.getLogger("tests.hygiene")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("channel %s said %r", "C1\nERROR fake line\x1b[2J\u202e", f"postgresql://u:{SECRET}@h/d")
        logger.warning({"not": "a string"})
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "\\nERROR fake line\\x1b[2J\\u202e" in lines[0] and SECRET not in lines[0]


@pytest.mark.parametrize(("label", "url", "honest"), [
    ("https://example.com/a", "https://example.com/a", True),
    ("example.com", "https://www.example.com/x", True),
    ("the docs at docs.python.org", "https://docs.python.org/3/", True),
    ("python.org", "https://docs.python.org/3/", True),
    ("Reset your SSO password", "https://evil.example/login", False),
    ("paypal.com", "https://paypal.com.evil.example/", False),
    ("example.com", "javascript:alert(1)", False),
    ("example.com", "ftp://example.com/", False),
])
def test_which_labels_may_stand_alone(label: str, url: str, honest: bool) -> None:
    assert label_is_honest(label, url) is honest


def test_discord_answers_show_a_dishonest_links_destination() -> None:
    text = ("[Reset your SSO password](https://evil.example/login) [example.com](https://example.com/) "
            "[x](javascript:alert(1)) [Paris](https://en.wikipedia.org/wiki/Paris_(France))")
    (rendered,) = discord_render(text)
    assert "Reset your SSO password (<https://evil.example/login>)" in rendered
    assert "[example.com](https://example.com/)" in rendered
    assert "x (`javascript:alert(1)`)" in rendered
    assert "Paris (<https://en.wikipedia.org/wiki/Paris_(France)>)" in rendered
    assert honest_markdown("[a](" * 2000) == "[a](" * 2000  # a hostile run is left alone, quickly

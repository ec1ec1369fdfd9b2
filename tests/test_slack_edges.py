"""Slack HTTP mode's edge (issue: clean edges, logs nobody can forge, honest links), over real HTTP
against the real Bolt app: bodies Slack would never send are refused cleanly, without a traceback or
the body in the log, and a model's dishonest link is shown with its destination."""

from __future__ import annotations

import json
import logging

import pytest

from bots.slack.http_guard import DEFAULT_MAX_BODY
from tests.standins.slack import SlackStandIn, slack_standin  # noqa: F401  (the `slack` fixture)
from tests.test_slack_events import DM, Bot, bot, echo_bot  # noqa: F401  (the `bot` fixture)
from trip_planner.config import Settings

FORGED_LINE = "\n2026-12-03 06:00:00 ERROR trip_planner: database wiped"


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]


async def test_a_signed_but_truncated_body_gets_400_and_one_warning(bot: Bot, slack: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    whole = json.dumps(slack.event_callback(slack.user_message(user="U0ALICE001", channel=DM, text="Lisbon in May")))
    for body in (whole[: len(whole) // 2], "{", "[1, 2]", "payload=%7Bnot-json"):
        caplog.clear()
        content_type = "application/x-www-form-urlencoded" if body.startswith("payload") else "application/json"
        status, _ = await slack.post_signed(bot.url, body.encode(), content_type=content_type)
        assert status == 400, body
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bots.slack.http_guard"]
        assert len(warnings) == 1 and not _tracebacks(caplog)
    assert [c.method for c in slack.calls] == ["auth.test"]  # nothing reached the runner


async def test_an_oversized_body_is_refused_before_it_is_parsed(bot: Bot, slack: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    event = slack.user_message(user="U0ALICE001", channel=DM, text="x" * (DEFAULT_MAX_BODY + 10))
    status, _ = await slack.post_signed(bot.url, json.dumps(slack.event_callback(event)).encode())
    assert status == 413
    assert not _tracebacks(caplog)
    assert [c.method for c in slack.calls] == ["auth.test"]


async def test_a_forged_request_never_puts_its_body_in_the_log(bot: Bot, slack: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"type": "event_callback", "event": {"text": FORGED_LINE}}).encode()
    status, _ = await slack.post_signed(bot.url, body, secret="not-the-signing-secret")
    assert status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "database wiped" not in logged
    assert any("bad signature" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_a_dishonest_link_in_an_answer_shows_where_it_goes(settings: Settings, slack: SlackStandIn) -> None:
    echo_runner, echo = await echo_bot(settings, slack)
    try:
        answer = await echo.dm(
            "[Reset your SSO password](https://evil.example/login), [example.com](https://example.com/a) "
            "and [click](javascript:alert(1))"
        )
    finally:
        await echo.bot.stop()
        await echo_runner.close()
    text = answer["text"]
    assert "Reset your SSO password (<https://evil.example/login>)" in text
    assert "<https://example.com/a|example.com>" in text
    assert "<javascript" not in text and "|click>" not in text

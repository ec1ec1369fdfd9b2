"""Unit tests for the Slack adapter's pure parts: identity, configuration, Markdown → mrkdwn."""

from __future__ import annotations

import pytest

from bots.slack.config import DEFAULT_API_URL, load_slack_config
from bots.slack.formatting import MAX_CHARS, escape, render, to_mrkdwn
from trip_planner.core.splitting import split_markdown
from bots.slack.identity import message_key, session_user_id, team_of, thread_key
from trip_planner.config import ConfigError

BOT = "xoxb-1-2-abc"
APP = "xapp-1-A1-2-def"


# -- who is who ---------------------------------------------------------------------------------


def test_session_user_id_is_team_channel_user() -> None:
    assert session_user_id("T1", "D2", "U3") == "slack:T1:D2:U3"
    assert session_user_id("T1", "C9", "U3") != session_user_id("T1", "D2", "U3")
    assert session_user_id("T1", "C9", "U3") != session_user_id("T1", "C9", "U4")


@pytest.mark.parametrize("bad", [("", "C", "U"), ("T", "", "U"), ("T", "C", ""), ("T:x", "C", "U")])
def test_session_user_id_refuses_empty_or_ambiguous_parts(bad: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError):
        session_user_id(*bad)


def test_message_and_thread_keys_do_not_collide() -> None:
    assert message_key("T1", "C1", "1.000001") == "slack:T1:C1:1.000001"
    assert thread_key("T1", "C1", "1.000001", "U1") != message_key("T1", "C1", "1.000001")


def test_team_comes_from_context_then_authorizations_not_the_authors_team() -> None:
    body = {"team_id": "TOTHER", "authorizations": [{"team_id": "TINSTALL"}], "event": {"team": "TAUTHOR"}}
    assert team_of({"team_id": "TCTX"}, body) == "TCTX"
    assert team_of({}, body) == "TINSTALL"


def test_team_for_an_enterprise_grid_org_wide_install_falls_back_to_the_enterprise() -> None:
    body = {"authorizations": [{"team_id": None, "enterprise_id": "E123", "is_enterprise_install": True}], "event": {}}
    assert team_of({"team_id": None, "enterprise_id": None}, body) == "E123"
    assert team_of({}, {"event": {"team": "TAUTHOR"}}) == "TAUTHOR"
    with pytest.raises(ValueError):
        team_of({}, {"event": {}})


# -- configuration ------------------------------------------------------------------------------


def test_config_http_mode_defaults() -> None:
    config = load_slack_config({"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "abc123"})
    assert not config.socket_mode
    assert config.port == 3000 and config.api_url == DEFAULT_API_URL
    assert BOT not in repr(config) and "abc123" not in repr(config)


def test_config_socket_mode_needs_no_signing_secret_and_normalises_the_url() -> None:
    config = load_slack_config({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_API_URL": "http://h:1/api", "PORT": "8080"})
    assert config.socket_mode and config.api_url == "http://h:1/api/" and config.port == 8080


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token-secret", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": BOT}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": "xoxb-wrong-kind-secret"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s", "PORT": "http"}, "PORT"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s", "PORT": "70000"}, "PORT"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
    ],
)
def test_config_errors_name_the_variable_in_one_line_without_the_secret(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_slack_config(env)
    message = str(info.value)
    assert named in message and "\n" not in message
    for value in env.values():
        if value.startswith(("xo", "xa")):
            assert value not in message


# -- Markdown to mrkdwn --------------------------------------------------------------------------


def test_markdown_becomes_mrkdwn() -> None:
    md = "### Lisbon in May\n- **Where:** Lisbon · *nice*\n* ~~old~~ item\nSee [the guide](https://example.com/a?b=1&c=2)."
    assert to_mrkdwn(md) == (
        "*Lisbon in May*\n• *Where:* Lisbon · _nice_\n• ~old~ item\nSee the guide (<https://example.com/a?b=1&amp;c=2>)."
    )


def test_code_is_left_alone_but_still_escaped() -> None:
    out = to_mrkdwn("Run `**not bold**` then:\n```python\nx = a < b and c > d\n```")
    assert "`**not bold**`" in out
    assert "```\nx = a &lt; b and c &gt; d\n```" in out
    assert to_mrkdwn("```\nunclosed").endswith("```")


@pytest.mark.parametrize(
    "text",
    ["<!channel> hi", "<!here>", "<!everyone>", "<@U123ABC>", "<!subteam^S123>", "<#C123|general>", "[x](<!here>)"],
)
def test_model_text_can_never_ping(text: str) -> None:
    out = to_mrkdwn(text)
    assert "<!" not in out and "<@" not in out and "<#" not in out


@pytest.mark.parametrize("word", ["@channel", "@here", "@everyone", "@Here"])
def test_bare_broadcast_words_are_defused(word: str) -> None:
    out = escape(f"hello {word}!")
    assert word not in out and word[1:] in out


def test_only_web_links_become_slack_links() -> None:
    assert to_mrkdwn("[click](javascript:alert(1))").startswith("click (javascript:")
    assert "<" not in to_mrkdwn("[a](slack://open)")


def test_long_text_is_split_within_limits_on_line_boundaries() -> None:
    text = "\n".join(f"Line {i}: " + "word " * 30 for i in range(200))
    chunks = split_markdown(text, MAX_CHARS)
    assert len(chunks) > 1
    assert all(len(c) <= MAX_CHARS for c in chunks)
    assert all(c.startswith("Line ") for c in chunks)
    assert "".join(c + "\n" for c in chunks).count("Line ") == 200


def test_split_reopens_code_fences_and_keeps_entities_whole() -> None:
    chunks = render("```\n" + "x < y\n" * 200 + "```", 200)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.count("```") == 2 and len(chunk) <= 200
        assert "&lt" not in chunk.replace("&lt;", "")
    hard = split_markdown("&amp;" * 100, 80)
    assert all(c.count("&") == c.count(";") for c in hard)

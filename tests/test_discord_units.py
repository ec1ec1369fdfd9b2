"""The Discord adapter's pure parts: ids, splitting, settings, intents."""

from __future__ import annotations

import re

import pytest

from bots.discord import (
    DEFAULT_API_URL,
    DEFAULT_GATEWAY_URL,
    answer_ref,
    build_intents,
    inbound_message_id,
    load_discord_settings,
    session_user_id,
    render,
)
from trip_planner.config import ConfigError

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GtEsTx.c3RhbmQtaW4tdG9rZW4tZm9yLXRlc3RzLW9ubHk"


# -- ids --------------------------------------------------------------------------------------------


def test_session_user_ids_separate_dms_channels_and_people() -> None:
    assert session_user_id(user_id=42) == "discord:42"
    assert session_user_id(user_id=42, guild_id=7, channel_id=9) == "discord:7:9:42"
    keys = {
        session_user_id(user_id=42),
        session_user_id(user_id=42, guild_id=7, channel_id=9),
        session_user_id(user_id=42, guild_id=7, channel_id=10),
        session_user_id(user_id=43, guild_id=7, channel_id=9),
    }
    assert len(keys) == 4
    with pytest.raises(ValueError):
        session_user_id(user_id=42, guild_id=7)


def test_message_keys() -> None:
    assert inbound_message_id(123) == "discord:123"
    assert answer_ref(5, 123) == "discord:5:123"


# -- splitting --------------------------------------------------------------------------------------


def _unfenced(pieces: list[str]) -> list[str]:
    """The lines of the pieces without blank lines and without the fences the splitter added."""
    lines = [line for p in pieces for line in p.split("\n") if line.strip()]
    return [line for line in lines if not line.startswith("```")]


def test_short_text_is_one_message() -> None:
    assert render("hello") == ["hello"]
    assert render("x" * 2000) == ["x" * 2000]
    assert render("  \n ") == []


def test_splits_on_paragraphs_first() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(8)]  # ~760 chars each
    pieces = render("\n\n".join(paragraphs))
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    for piece in pieces:  # no paragraph is cut in the middle
        assert piece.startswith("Paragraph ") and piece.rstrip().endswith("word")
    assert _unfenced(pieces) == paragraphs


def test_splits_on_lines_when_a_paragraph_is_too_long() -> None:
    lines = [f"- item {i} " + "x" * 60 for i in range(100)]
    pieces = render("\n".join(lines))
    assert all(len(p) <= 2000 for p in pieces)
    assert _unfenced(pieces) == lines


def test_code_block_is_closed_and_reopened() -> None:
    code = "```python\n" + "\n".join(f"x_{i} = {i}  # " + "c" * 40 for i in range(120)) + "\n```"
    text = "Here is the plan:\n\n" + code + "\n\nEnjoy!"
    pieces = render(text)
    assert len(pieces) >= 3
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)
    assert all(p.startswith("```python") for p in pieces[1:-1])
    assert pieces[-1].endswith("Enjoy!")
    assert _unfenced(pieces) == _unfenced([text])


def test_a_single_huge_line_is_cut_at_spaces() -> None:
    text = " ".join(f"w{i}" for i in range(1500))  # ~8,000 characters, no newline
    pieces = render(text)
    assert all(len(p) <= 2000 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    unbroken = "y" * 4500
    assert "".join(render(unbroken)) == unbroken


@pytest.mark.parametrize("limit", [50, 200, 2000])
def test_every_piece_fits_any_limit(limit: int) -> None:
    text = "\n".join(["intro " * 20, "```", *(f"line {i}" * 3 for i in range(80)), "```", "outro " * 30])
    pieces = render(text, limit)
    assert all(len(p) <= limit for p in pieces), [len(p) for p in pieces]


# -- settings ---------------------------------------------------------------------------------------


def test_defaults() -> None:
    config = load_discord_settings({"DISCORD_TOKEN": TOKEN})
    assert config.api_url == DEFAULT_API_URL and config.gateway_url == DEFAULT_GATEWAY_URL
    assert not config.sharded and config.server_mentions and config.sync_commands
    assert TOKEN not in repr(config)


def test_shard_settings() -> None:
    fixed = load_discord_settings({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "2, 3"})
    assert fixed.sharded and fixed.shard_count == 4 and fixed.shard_ids == (2, 3)
    auto = load_discord_settings({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_COUNT": "auto"})
    assert auto.sharded and auto.shard_count is None


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "   "}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "Bot " + TOKEN}, "without the prefix"),
        ({"DISCORD_TOKEN": "not-a-token"}, "does not look like a bot token"),
        ({"DISCORD_TOKEN": TOKEN + " extra"}, "does not look like a bot token"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_COUNT": "two"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_IDS": "0"}, "without DISCORD_SHARD_COUNT"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}, "from 0 to 1"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_API_URL": "discord.com/api"}, "DISCORD_API_URL"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_GATEWAY_URL": "https://gateway.discord.gg"}, "DISCORD_GATEWAY_URL"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_SERVER_MENTIONS": "maybe"}, "DISCORD_SERVER_MENTIONS"),
    ],
)
def test_bad_settings_stop_with_one_clear_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_discord_settings(env)
    message = str(err.value)
    assert names in message
    assert "\n" not in message
    assert not re.search(r"c3RhbmQtaW4", message), "the token is never echoed"


def test_intents_are_minimal_and_unprivileged() -> None:
    both = build_intents(server_mentions=True)
    assert both.dm_messages and both.dm_reactions and both.guild_messages and both.guild_reactions and both.guilds
    assert not both.message_content and not both.members and not both.presences
    dm_only = build_intents(server_mentions=False)
    assert dm_only.dm_messages and dm_only.dm_reactions
    assert not dm_only.guild_messages and not dm_only.guild_reactions

"""A person's platform identity as patterns over session user ids, kept here as data.

The adapters build session user ids (bots/slack/identity.py, bots/discord/identity.py); the core and
the operator tools never import them. What the operator needs is "every id of this person", so the
formats are restated here as patterns (`*` is one colon-free field, see
`trip_planner.core.erasure.find_user_ids`). If an adapter's format changes, change it here too:
tests/test_erasure.py builds ids with the adapters' functions and checks these patterns match them.
"""

from __future__ import annotations

import re

# slack:{team_id}:{channel_id}:{user_id}: one id per channel (and DM) the person talked in.
SLACK_USER_PATTERNS = ("slack:{team}:*:{user}",)
# discord:{user_id} in DMs, discord:{guild_id}:{channel_id}:{user_id} in server channels.
DISCORD_USER_PATTERNS = ("discord:{user}", "discord:*:*:{user}")

_FIELD = re.compile(r"^[A-Za-z0-9_.-]+$")


def slack_patterns(identity: str) -> list[str]:
    """`TEAM:USER` (e.g. T012AB:U34CD) as the patterns of that person's session user ids."""
    team, sep, user = identity.partition(":")
    if not sep or not _FIELD.match(team) or not _FIELD.match(user):
        raise ValueError(f"--slack-user {identity!r} is not TEAM:USER (e.g. T012AB3CD:U045EF6GH)")
    return [p.format(team=team, user=user) for p in SLACK_USER_PATTERNS]


def discord_patterns(identity: str) -> list[str]:
    """A Discord user id (a snowflake) as the patterns of that person's session user ids."""
    if not identity.isdigit():
        raise ValueError(f"--discord-user {identity!r} is not a Discord user id (a number)")
    return [p.format(user=identity) for p in DISCORD_USER_PATTERNS]

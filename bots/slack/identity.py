"""Every key the Slack adapter gives the core, built in one place.

The session user id is `slack:{team_id}:{channel_id}:{user_id}`: one person has a separate
conversation in their DM and in each channel, and two people in one channel never share one. The
team comes from the event's authorizations (via Bolt's context), not from `event.team`, which on
Enterprise Grid and in shared channels is the *author's* workspace and would split one user's
conversation depending on who else was involved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trip_planner.ops.identities import slack_patterns


def session_user_id(team_id: str, channel_id: str, user_id: str) -> str:
    """The core's user id for `user_id` talking to the planner in `channel_id` of `team_id`."""
    for name, value in (("team_id", team_id), ("channel_id", channel_id), ("user_id", user_id)):
        if not value or ":" in value:
            raise ValueError(f"Slack {name} {value!r} cannot be part of a session user id")
    return f"slack:{team_id}:{channel_id}:{user_id}"


def person_patterns(team_id: str, user_id: str) -> list[str]:
    """Every session user id of one person of one workspace (their DM and each channel), as the
    core's erasure finds them: what "forget me" erases."""
    return slack_patterns(f"{team_id}:{user_id}")


def message_key(team_id: str, channel_id: str, ts: str) -> str:
    """A Slack message's identity: channel + ts is unique per workspace, and the same message
    arriving as `message` and as `app_mention` (different event ids) maps to the same key. Used both
    as the core's inbound `message_id` and as the `message_ref` of the bot's answers."""
    return f"slack:{team_id}:{channel_id}:{ts}"


def ts_of_key(key: str) -> str:
    """The Slack ts inside a `message_key` (a ts holds no colon, so it is the last field)."""
    return key.rsplit(":", 1)[-1]


def place_key(team_id: str, channel_id: str) -> str:
    """Where a message was said, for catch-up: a DM (or channel) of one workspace."""
    return f"slack:{team_id}:{channel_id}"


def thread_key(team_id: str, channel_id: str, thread_ts: str, user_id: str) -> str:
    """The place the bot follows for `user_id` once mentioned in this thread (a store subscription), so
    a follow-up there without a new mention is answered, across restarts and workers."""
    return f"slack-thread:{team_id}:{channel_id}:{thread_ts}:{user_id}"


def team_of(context: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """The installation's team for this request.

    Bolt's context carries `authorizations[0].team_id` (or `team_id` / `team.id` for commands and
    interactivity). An org-wide Enterprise Grid install can have no team there: fall back to the
    event's team, then the enterprise id, so the key is still stable and never empty.
    """
    team = context.get("team_id")
    if team:
        return str(team)
    authorizations = body.get("authorizations") or []
    if authorizations and authorizations[0].get("team_id"):
        return str(authorizations[0]["team_id"])
    event = body.get("event") or {}
    for candidate in (body.get("team_id"), event.get("team"), event.get("user_team")):
        if candidate:
            return str(candidate)
    enterprise = context.get("enterprise_id") or body.get("enterprise_id")
    if authorizations and authorizations[0].get("enterprise_id"):
        enterprise = enterprise or authorizations[0]["enterprise_id"]
    if enterprise:
        return str(enterprise)
    raise ValueError("the Slack request names no team or enterprise")

"""Every key the Discord adapter gives the core, built in one place.

Snowflakes only: names change, ids do not.
"""

from __future__ import annotations

import hashlib

from trip_planner.ops.identities import discord_patterns


def session_user_id(*, user_id: int, guild_id: int | None = None, channel_id: int | None = None) -> str:
    """The core's user id for a Discord person in a place.

    A DM is `discord:{user}`; in a server each channel is its own conversation per person,
    `discord:{guild}:{channel}:{user}`, so two people in one channel never share a trip. Ids only:
    names change, snowflakes do not.
    """
    if guild_id is None:
        return f"discord:{user_id}"
    if channel_id is None:
        raise ValueError("a server conversation needs the channel id")
    return f"discord:{guild_id}:{channel_id}:{user_id}"


def inbound_message_id(message_id: int) -> str:
    """The dedupe key for an inbound message: snowflakes are unique across all of Discord."""
    return f"discord:{message_id}"


def answer_nonce(inbound_key: str, index: int) -> str:
    """The Create Message nonce for piece `index` of the answer to inbound message `inbound_key`.

    Sent with `enforce_nonce`, it makes Discord hand back the message it already created instead of
    posting a second one when the same piece is sent again within a few minutes: after a response
    lost to a 5xx or a dropped connection, by discord.py's retry or by the recovery sweep. So it must
    depend only on the inbound message and the piece, never on which path sends it. Discord caps a
    nonce at 25 characters and `discord:` plus a snowflake and an index does not fit, hence a hash
    (96 bits as 24 hex digits).
    """
    return hashlib.blake2b(f"{inbound_key}#{index}".encode(), digest_size=12).hexdigest()


def answer_ref(channel_id: int, message_id: int) -> str:
    """How the core remembers one of our answer messages, so a reaction on it can be matched."""
    return f"discord:{channel_id}:{message_id}"


def place_key(channel_id: int) -> str:
    """Where a message was said, for catch-up: a channel (a DM is a channel too)."""
    return f"discord:{channel_id}"


def person_patterns(user_id: int) -> list[str]:
    """Every session user id of one Discord person (their DM and each server channel), as the core's
    erasure finds them: what "forget me" erases."""
    return discord_patterns(str(user_id))

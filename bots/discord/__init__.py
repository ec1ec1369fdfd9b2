"""The planner in Discord (discord.py 2.7): direct messages, mentions in server channels, 👍 to finish.

`run_discord` is what `trip-planner discord` runs; `create_client` builds the adapter (tests drive it
against the stand-in in `tests/standins/discord.py`); `identity` is the one place that says who is who.
"""

from bots.discord.channel import DiscordChannel
from bots.discord.client import AnyPlannerClient, PlannerClient, ShardedPlannerClient, build_intents
from bots.discord.config import (
    DEFAULT_API_URL,
    DEFAULT_GATEWAY_URL,
    DiscordSettings,
    check_token,
    configure_endpoints,
    load_discord_settings,
)
from bots.discord.formatting import MESSAGE_LIMIT, render
from bots.discord.identity import answer_nonce, answer_ref, inbound_message_id, session_user_id
from bots.discord.run import create_client, run_discord, serve

__all__ = [
    "AnyPlannerClient",
    "DEFAULT_API_URL",
    "DEFAULT_GATEWAY_URL",
    "MESSAGE_LIMIT",
    "DiscordChannel",
    "DiscordSettings",
    "PlannerClient",
    "ShardedPlannerClient",
    "answer_nonce",
    "answer_ref",
    "build_intents",
    "check_token",
    "configure_endpoints",
    "create_client",
    "inbound_message_id",
    "load_discord_settings",
    "render",
    "run_discord",
    "serve",
    "session_user_id",
]

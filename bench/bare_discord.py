"""A bare discord.py client, the baseline of the Discord start-up benchmark: log in and connect to
the gateway (at the URLs given, as bots/discord/config.py points ours) and do nothing else.
`python -m bench.bare_discord API_URL GATEWAY_URL TOKEN`; runs until killed. Imports nothing of ours.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import discord
import yarl


async def main(api_url: str, gateway_url: str, token: str) -> None:
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    client = discord.Client(intents=discord.Intents.default())
    await client.start(token)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(*sys.argv[1:4]))

"""A bare Bolt app, the baseline of the Slack benchmarks: an AsyncApp served over aiohttp the way ours
is (`AsyncApp.web_app`), the same signing secret, auth.test checked before listening as ours does,
and a message listener that only sleeps 200 ms (Bolt acknowledges first, then runs it). It stores
nothing. `python -m bench.bare_bolt API_URL SIGNING_SECRET BOT_TOKEN` prints `port N` once listening
and stops when its standard input closes. It imports nothing of ours, so its start-up is Bolt's own.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

LISTENER_S = 0.2  # the 200 ms model of bench/slow_model.py


async def serve_until_stdin_closes(port: int | None) -> None:
    sys.stdout.write(f"port {port}\n")
    sys.stdout.flush()
    await asyncio.to_thread(sys.stdin.read)


async def run_bare_bolt(api_url: str, secret: str, token: str) -> None:
    client = AsyncWebClient(token=token, base_url=api_url)
    app = AsyncApp(client=client, signing_secret=secret)

    @app.event("message")
    async def _on_message(body: dict[str, Any]) -> None:
        await asyncio.sleep(LISTENER_S)

    await client.auth_test()
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    try:
        await serve_until_stdin_closes(sockets[0].getsockname()[1])
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run_bare_bolt(*sys.argv[1:4]))

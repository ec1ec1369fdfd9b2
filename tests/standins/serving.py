"""Starting a stand-in's aiohttp app on 127.0.0.1 at a port the OS picks: one way for every stand-in."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve_locally(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, int]:
    """The started runner (clean it up to stop) and the port it listens on."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server: Any = site._server
    assert server is not None and server.sockets
    return runner, int(server.sockets[0].getsockname()[1])

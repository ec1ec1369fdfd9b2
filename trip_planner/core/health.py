"""`/healthz`, `/readyz` and `/metrics` over HTTP (aiohttp), for the platform that runs the bot.

- `/healthz`: 200 while the process's event loop answers at all (liveness: restart me if not).
- `/readyz`: 200 when the database answers a cheap query (`SELECT 1`, bounded by a timeout) and the
  process is taking work; 503 while it drains on SIGTERM or its platform connection is not up, so a
  load balancer or orchestrator stops sending it work first. The body is one short line saying why.
- `/metrics`: the runner's Prometheus metrics (`trip_planner/core/metrics.py`).

`Health.add_routes` puts them on an existing aiohttp app (Slack's HTTP mode serves them on its own
port); `HealthServer` serves them alone on `TRIP_PLANNER_HEALTH_PORT` (Socket Mode, Discord).
Nothing here reveals configuration, ids or message text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text

from trip_planner.core.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT_S = 3.0
DEFAULT_HOST = "0.0.0.0"


class Health:
    """The three endpoints for one runner. `accepting` says whether the process takes work now
    (False while draining or before its platform connection is up)."""

    def __init__(
        self,
        runner: TripPlannerRunner,
        *,
        accepting: Callable[[], bool] = lambda: True,
        db_timeout_s: float = DB_CHECK_TIMEOUT_S,
    ) -> None:
        self.runner = runner
        self.accepting = accepting
        self.db_timeout_s = db_timeout_s

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    async def database_ok(self) -> bool:
        """One `SELECT 1` on the shared engine, bounded: a database that hangs is not ready either."""
        try:
            async with asyncio.timeout(self.db_timeout_s):
                async with self.runner.sessions.store.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception as err:  # any failure to reach it means "not ready", never a 500
            log.warning("Readiness: the database did not answer (%s)", type(err).__name__)
            return False

    async def ready(self) -> tuple[bool, str]:
        if not self.accepting():
            return False, "not taking work (starting or draining)"
        if not await self.database_ok():
            return False, "database unreachable"
        return True, "ready"

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, why = await self.ready()
        return web.Response(status=200 if ready else 503, text=why + "\n")

    async def metrics(self, _request: web.Request) -> web.Response:
        # Rendered on the loop: the gauges read the runner's in-memory state, which only the loop changes.
        response = web.Response(body=self.runner.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


class HealthServer:
    """`Health` on a port of its own; `port` is the bound port (useful with port 0 in tests)."""

    def __init__(self, health: Health, *, port: int, host: str = DEFAULT_HOST) -> None:
        self.health = health
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        self.health.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.requested_port
        log.info("Health checks and metrics on %s:%s (/healthz, /readyz, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def start_health_server(
    runner: TripPlannerRunner, *, accepting: Callable[[], bool], port: int | None = None
) -> HealthServer | None:
    """Serve the endpoints on `port` (default: the runner's `health_port` setting); None when unset."""
    port = runner.settings.health_port if port is None else port
    if port is None:
        return None
    server = HealthServer(Health(runner, accepting=accepting), port=port)
    await server.start()
    return server

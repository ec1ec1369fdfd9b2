"""The Slack adapter: a Bolt app, its listeners, and the core's routines run for Slack.

It translates and nothing more. Every rule about conversations (dedupe, locking, delivery, what a 👍
means, recovery, catch-up) lives in the core; this module wires Bolt (HTTP or Socket Mode) to the
listeners (`listeners`), the core to Slack (`channel`), and owns the process's lifecycle: on SIGTERM
`stop()` refuses new events (Slack delivers them again elsewhere), lets answers in flight finish,
bounded, and closes.

Slack retries an event for a few minutes only: DMs sent during a longer outage are found after
start-up by the core's catch-up, which reads each recent DM's history after the last message stored.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bots.slack import http_guard
from bots.slack.channel import SlackChannel
from bots.slack.config import EVENTS_PATH, SlackConfig
from bots.slack.listeners import SlackListeners
from bots.slack.posting import SlackPoster, build_client
from trip_planner.config import ConfigError
from trip_planner.core.dispatch import work_in_background
from trip_planner.core.catch_up import MAX_PLACES, WINDOW_S, CatchUp
from trip_planner.core.health import Health, HealthServer, start_health_server
from trip_planner.core.inflight import InFlight
from trip_planner.core.recovery import SWEEP_EVERY_S
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

DEFAULT_DRAIN_TIMEOUT_S = 25.0  # Heroku-style platforms kill 30 s after SIGTERM
CATCH_UP_MAX_MESSAGES = 100  # messages read per DM and pass (one conversations.history request)


class SlackBot:
    """The Bolt app and its background work, for one `TripPlannerRunner`."""

    def __init__(
        self,
        runner: TripPlannerRunner,
        config: SlackConfig,
        *,
        drain_timeout_s: float = DEFAULT_DRAIN_TIMEOUT_S,
        recovery_every_s: float = SWEEP_EVERY_S,
    ) -> None:
        self.runner = runner
        self.config = config
        self.drain_timeout_s = drain_timeout_s
        # What a stopped worker or a refused post left undone is finished by a sweep this often.
        self.recovery_every_s = recovery_every_s
        self.client = build_client(config)
        self.poster = SlackPoster(self.client)
        self.channel = SlackChannel(self.client, self.poster)
        self.inflight = InFlight("slack")
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret or "",
            # HTTP requests are verified once, by `http_guard`, before Bolt sees them; Socket Mode
            # traffic is authenticated by the app token, with nothing to sign.
            request_verification_enabled=False,
            # Listeners store a message before Bolt acknowledges it (see `listeners`).
            process_before_response=True,
            logger=logging.getLogger("bots.slack.bolt"),
        )
        self.listeners = SlackListeners(self.app, runner, self.channel, self.inflight, agent_view=config.agent_view)
        self.catch_up = CatchUp(
            runner, self.channel, self.inflight, window_s=WINDOW_S, max_places=MAX_PLACES, max_messages=CATCH_UP_MAX_MESSAGES,
            concurrency=1,  # conversations.history is tightly rate-limited: one DM at a time
        )
        self.bot_user_id: str | None = None
        self.http_port: int | None = None
        self._background: asyncio.Task[None] | None = None  # recovery sweep, dispatch (see core/dispatch)
        self._web_runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.health_server: HealthServer | None = None  # on TRIP_PLANNER_HEALTH_PORT, when set

    @property
    def in_flight(self) -> int:
        return len(self.inflight)

    @property
    def catch_up_passes(self) -> int:
        return self.catch_up.passes

    async def verify(self) -> None:
        """Check the bot token with auth.test, so a revoked token fails start-up, not the first event."""
        try:
            result = await self.client.auth_test()
        except SlackApiError as err:
            error = err.response.get("error") if err.response is not None else "unknown"
            raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({error}); copy the bot token again.") from None
        self.bot_user_id = self.listeners.bot_user_id = result.get("user_id")
        self.poster.bot_user_id, self.poster.bot_id = self.bot_user_id, result.get("bot_id")
        log.info("Slack bot %s (%s) in team %s", result.get("user"), self.bot_user_id, result.get("team_id"))

    async def start(self) -> None:
        """Verify the token, then take events: Socket Mode with an app token, else HTTP; once events
        flow, look for DMs sent while the app was down (catch-up, in the background)."""
        started_at = time.time()
        await self.verify()
        self._background = asyncio.create_task(
            work_in_background(self.runner, self.channel, self.inflight, every_s=self.recovery_every_s),
            name="slack-background",
        )
        if not self.runner.settings.takes_events:  # an answer process: answers what receive processes stored
            log.info("Slack answer process: answering stored messages, taking no events")
        elif self.config.socket_mode:
            self._socket = AsyncSocketModeHandler(self.app, self.config.app_token)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")
        else:
            web_app = self.app.web_app(path=EVENTS_PATH)
            http_guard.install(web_app, signing_secret=self.config.signing_secret or "")
            Health(self.runner, accepting=self.accepting).add_routes(web_app)  # /healthz, /readyz, /metrics
            self._web_runner = web.AppRunner(web_app, access_log=None)
            await self._web_runner.setup()
            self._site = web.TCPSite(self._web_runner, self.config.host, self.config.port)
            await self._site.start()
            sockets = getattr(self._site._server, "sockets", None) or []
            self.http_port = sockets[0].getsockname()[1] if sockets else self.config.port
            log.info("Slack Events API listening on %s:%s%s", self.config.host, self.http_port, EVENTS_PATH)
        self.health_server = await start_health_server(self.runner, accepting=self.accepting)
        if self.runner.settings.takes_events:  # whoever takes events looks for the ones missed
            self.catch_up.request(received_before=started_at)

    def accepting(self) -> bool:
        """Whether this process takes events now (readiness): False once `pause` or `stop` ran."""
        return self.inflight.accepting

    def pause(self) -> None:
        """Refuse new events from now on (unacknowledged, so Slack delivers them again, to another
        worker or to the next start); answers in flight carry on. The first step of `stop`."""
        self.inflight.accepting = False

    async def stop(self) -> None:
        """Stop taking events, let answers in flight finish (bounded), then close the connections."""
        self.pause()
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
        if self._socket is not None:
            await self._socket.close_async()
        if self._site is not None:
            await self._site.stop()
        await self.drain(self.drain_timeout_s)
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        if self.health_server is not None:  # answered "not ready" while draining; gone now
            await self.health_server.stop()

    async def drain(self, timeout_s: float) -> None:
        """Wait for answers in flight (and work they start), at most `timeout_s`; cancel the rest."""
        await self.inflight.drain(timeout_s)

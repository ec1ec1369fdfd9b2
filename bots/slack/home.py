"""The App Home tab: published when the person opens it, refreshed (debounced) after each answer to
them, and its "New trip" / "End trip" buttons.

A button carries the DM's channel id, so a click after a restart (or on another worker) still knows
whose trip it is: the session is the clicker's own in that DM, so nobody can act on someone else's
trip (a Home is only ever shown to its owner anyway). The buttons go through the same core path as
`/trip new` and `/trip end`. Clicks are acknowledged first (Slack wants it within 3 s) and handled in
tracked tasks. Refreshes happen only for Homes opened in this process, at most one per person per
`refresh_after_s`; a Home opened on another worker is refreshed when it is next opened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.home_view import END_TRIP_ACTION, NEW_TRIP_ACTION, home_view
from bots.slack.identity import session_user_id, team_of
from trip_planner.core.channel import Inbound
from trip_planner.core.home import home_of
from trip_planner.core.inflight import InFlight
from trip_planner.core.runner import TripPlannerRunner

log = logging.getLogger(__name__)

REFRESH_AFTER_S = 2.0  # a burst of answers refreshes the Home once


class SlackHome:
    def __init__(self, app: AsyncApp, runner: TripPlannerRunner, client: AsyncWebClient, inflight: InFlight) -> None:
        self.runner, self.client, self.inflight = runner, client, inflight
        self.refresh_after_s = REFRESH_AFTER_S
        self.watching: dict[str, tuple[str, str]] = {}  # session user id -> (Slack user, DM channel)
        self._pending: set[str] = set()
        app.action(NEW_TRIP_ACTION)(self._on_button)
        app.action(END_TRIP_ACTION)(self._on_button)

    def opened(self, team: str, channel: str, user: str) -> None:
        """The person opened the Home tab of their DM `channel` with the app: publish it."""
        person = session_user_id(team, channel, user)
        self.watching[person] = (user, channel)
        self.inflight.spawn(self.publish(person), f"slack-home-{user}")

    async def publish(self, person: str) -> None:
        user, channel = self.watching[person]
        try:
            view = home_view(await home_of(self.runner.sessions, person), channel)
            await self.client.views_publish(user_id=user, view=view)
        except Exception as err:  # a stale Home is a nuisance, never a failure
            log.warning("Could not publish the Home of a person (%s)", type(err).__name__)

    def answered(self, inbound: Inbound) -> None:
        """An answer to `inbound` went out: refresh its person's Home soon, if it is being watched."""
        person = inbound.user_id
        if person not in self.watching or person in self._pending or not self.inflight.accepting:
            return
        self._pending.add(person)
        self.inflight.spawn(self._refresh_later(person), f"slack-home-refresh-{person}")

    async def _refresh_later(self, person: str) -> None:
        try:
            await asyncio.sleep(self.refresh_after_s)
        finally:
            self._pending.discard(person)
        await self.publish(person)

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
        await ack()
        actions = body.get("actions") or []
        user = (body.get("user") or {}).get("id")
        channel = str(actions[0].get("value") or "") if actions else ""
        if not user or not channel.startswith("D"):
            log.debug("Ignoring a Home click without a person or a DM")
            return
        person = session_user_id(team_of(context, body), channel, user)
        self.watching[person] = (user, channel)
        word = "new" if actions[0].get("action_id") == NEW_TRIP_ACTION else "end"

        async def click() -> None:
            await self.runner.command(person, word)
            await self.publish(person)

        self.inflight.spawn(click(), f"slack-home-{word}-{user}")

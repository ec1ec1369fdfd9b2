"""The Discord stand-in's message components: a person clicking a button under a bot message.

A mixin of `DiscordStandIn`. As on Discord: a click is an INTERACTION_CREATE of type 3
(MESSAGE_COMPONENT) whose `data` carries the button's `custom_id` and `component_type` 2, with the
whole message it sits under; the app answers it at POST /interactions/{id}/{token}/callback (type 6,
DEFERRED_UPDATE_MESSAGE, leaves the message as it is; 7 updates it) and may follow up through the
application's webhook (`flags: 64` makes it ephemeral: only the clicker sees it, and it is not in the
channel's history). A person can only click a button the message shows: building a click for a
button that is not there fails the test.
"""

from __future__ import annotations

import secrets
from typing import Any


class DiscordComponentsMixin:
    """Needs `application_id`, `channel_messages`, `interactions`, `snowflake`, `user`, `_member`,
    `_guild`, `dispatch` and `channel_guild` from `DiscordStandIn`."""

    def buttons_of(self, channel_id: int, message_id: int) -> list[dict[str, Any]]:
        """The buttons a message shows (Discord's component JSON), in order."""
        message = self.channel_messages.get(channel_id, {}).get(int(message_id))  # type: ignore[attr-defined]
        if message is None:
            return []
        return [c for row in message.get("components") or [] for c in row.get("components") or [] if c.get("type") == 2]

    async def click_button(
        self, *, user_id: int, channel_id: int, message_id: int, custom_id: str, guild_id: int | None = None
    ) -> Any:
        """`user_id` clicks the button `custom_id` under message `message_id`: INTERACTION_CREATE type 3."""
        from tests.standins.discord import Interaction  # (a cycle at import time otherwise)

        if not any(b.get("custom_id") == custom_id for b in self.buttons_of(channel_id, message_id)):
            raise AssertionError(f"message {message_id} shows no button {custom_id!r}")
        message = self.channel_messages[channel_id][int(message_id)]  # type: ignore[attr-defined]
        interaction_id = str(self.snowflake())  # type: ignore[attr-defined]
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(24)
        data: dict[str, Any] = {
            "id": interaction_id,
            "application_id": str(self.application_id),  # type: ignore[attr-defined]
            "type": 3,
            "token": token,
            "version": 1,
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": message,
            "channel_id": str(channel_id),
            "locale": "en-US",
            "app_permissions": "562949953421311",
            "entitlements": [],
            "attachment_size_limit": 10485760,
        }
        if guild_id is None:
            data["channel"] = {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0,
                               "recipients": [self.user(user_id)]}  # type: ignore[attr-defined]
            data["user"] = self.user(user_id)  # type: ignore[attr-defined]
            data["context"] = 1  # BOT_DM
            data["authorizing_integration_owners"] = {"0": str(user_id)}
        else:
            self._guild(guild_id)  # type: ignore[attr-defined]
            data["guild_id"] = str(guild_id)
            data["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            data["guild_locale"] = "en-US"
            data["channel"] = {"id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "general",
                               "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None,
                               "topic": None, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
            data["member"] = {**self._member(user_id, guild_id), "user": self.user(user_id),  # type: ignore[attr-defined]
                              "permissions": "2248473465835073"}
            data["context"] = 0  # GUILD
            data["authorizing_integration_owners"] = {"0": str(guild_id)}
        interaction = Interaction(id=interaction_id, token=token, payload=data)
        self.interactions[token] = interaction  # type: ignore[attr-defined]
        # Interactions reach the app whatever its intents (no intent gates INTERACTION_CREATE).
        await self.dispatch("INTERACTION_CREATE", data, guild_id=guild_id)  # type: ignore[attr-defined]
        return interaction

    def update_from_callback(self, interaction: Any, body: dict[str, Any]) -> None:
        """Callback type 7 (UPDATE_MESSAGE): the message the button sits under takes the new fields."""
        message = interaction.payload.get("message")
        if not message:
            return
        stored = self.channel_messages.get(int(message["channel_id"]), {}).get(int(message["id"]))  # type: ignore[attr-defined]
        if stored is not None:
            for key in ("content", "components", "embeds"):
                if key in body:
                    stored[key] = body[key]

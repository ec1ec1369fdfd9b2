"""The stand-in's App Home: `views.publish` as Slack takes it (a `home` view of at most 100 blocks
for a user), and the `block_actions` payload of a click on a button of a published Home view, as
Slack builds it (container type `view`, no channel or message)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


class SlackHomeMixin:
    """Needs `team_id` from `SlackStandIn`."""

    team_id: str
    home_views: dict[str, dict[str, Any]]

    def _init_home(self) -> None:
        self.home_views = {}  # user id -> the Home view published for them last

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks") or []
        if len(blocks) > 100 or any(b.get("type") == "header" and len((b.get("text") or {}).get("text") or "") > 150 for b in blocks):
            return {"ok": False, "error": "invalid_blocks"}
        published = {**view, "id": f"V{uuid.uuid4().hex[:10].upper()}", "team_id": self.team_id}
        self.home_views[str(user)] = published
        return {"ok": True, "view": published}

    def home_text(self, user: str) -> str:
        """Every text shown on `user`'s Home, joined: what the person reads there."""
        return json.dumps(self.home_views.get(user, {}).get("blocks") or [], ensure_ascii=False)

    def home_action(self, *, user: str, action_id: str) -> dict[str, Any]:
        """`user` clicks the button `action_id` on their published Home (only they can see it)."""
        view = self.home_views.get(user)
        if view is None:
            raise AssertionError(f"no Home published for {user}")
        for block in view.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == action_id:
                    who = user
                    action = {"type": "button", "action_id": action_id, "block_id": block.get("block_id"),
                              "text": element.get("text"), "value": element.get("value"),
                              "action_ts": f"{time.time():.6f}"}
                    return {
                        "type": "block_actions",
                        "user": {"id": who, "username": who.lower(), "name": who.lower(), "team_id": self.team_id},
                        "api_app_id": "A0APP00001",
                        "token": "legacy-verification-token",
                        "container": {"type": "view", "view_id": view["id"]},
                        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
                        "team": {"id": self.team_id, "domain": "standin"},
                        "enterprise": None,
                        "is_enterprise_install": False,
                        "view": view,
                        "actions": [action],
                    }
        raise AssertionError(f"{user}'s Home shows no button {action_id!r}")

"""The planner as a Slack app (slack-bolt AsyncApp): DMs, mentions, threads, and 👍 to finish.

`run_slack` is what `trip-planner slack` runs; `SlackBot` is the adapter itself (tests drive it
against the stand-in in `tests/standins/slack.py`); `session_user_id` is the one place that says who
is who.
"""

from bots.slack.app import SlackBot
from bots.slack.posting import build_client
from bots.slack.config import SlackConfig, load_slack_config
from bots.slack.identity import message_key, session_user_id, team_of, thread_key
from bots.slack.run import run_slack

__all__ = [
    "SlackBot",
    "SlackConfig",
    "build_client",
    "load_slack_config",
    "message_key",
    "run_slack",
    "session_user_id",
    "team_of",
    "thread_key",
]

"""`trip-planner chat | slack | discord | db`: one entry point, one clear line on bad configuration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from trip_planner.config import ConfigError, load_log_format, load_settings
from trip_planner.core import log_hygiene
from trip_planner.core.json_logs import JsonFormatter
from trip_planner.core.log_context import ContextFilter
from trip_planner.core.migrate import SchemaError
from trip_planner.core.redact import redact


def _configure_logging(level: str, log_format: str = "text") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        # The turn's ids (conversation, platform, message) on every record, for the JSON format.
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
    # Third-party chatter stays at WARNING unless asked for.
    for noisy in ("google_adk", "google.adk", "httpx", "opik", "aiosqlite", "sqlalchemy", "LiteLLM"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Expected, not a fault: a bounded read of a long session can start inside a turn, and ADK warns on
    # every model call that it drops the orphaned tool responses.
    logging.getLogger("google_adk.google.adk.flows.llm_flows.tools._rearranger").setLevel(logging.ERROR)
    log_hygiene.install()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trip-planner", description="An AI trip planner for Slack, Discord and the terminal.")
    parser.add_argument(
        "--log-level", default=None, help="INFO by default; WARNING for `chat` in a terminal, where logs would crowd the answers"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="talk to the planner in this terminal")
    chat.add_argument("--user", default=None, help="your name; the conversation is kept per name")
    sub.add_parser("slack", help="run the Slack app")
    discord_cmd = sub.add_parser("discord", help="run the Discord bot")
    discord_cmd.add_argument("--sync-commands", action="store_true", help="register slash commands and exit")
    sub.add_parser("doctor", help="check the configuration, database, tokens, model key and Opik; exit 1 on a problem")
    from trip_planner.ops import sessions_cli

    sessions_cli.add_parser(sub)
    db_cmd = sub.add_parser("db", help="our tables' schema: `upgrade` it to this version's, or show the `current` one")
    db_cmd.add_argument("action", choices=["upgrade", "current"])
    args = parser.parse_args(argv)
    quiet = args.command == "sessions" or (args.command == "chat" and sys.stdin.isatty())
    level = args.log_level or ("WARNING" if quiet else "INFO")
    try:
        log_format = load_log_format()
    except ConfigError as err:
        _configure_logging(level)
        logging.getLogger("trip_planner").error("configuration error: %s", redact(str(err)))
        return 2
    _configure_logging(level, log_format)
    if args.command == "doctor":
        from bots.doctor import run_doctor

        # Its own report on stdout; logs stay quiet unless asked for.
        logging.getLogger().setLevel(getattr(logging, (args.log_level or "WARNING").upper(), logging.WARNING))
        return asyncio.run(run_doctor())
    try:
        settings = load_settings()
        if args.command == "chat":
            from bots.console import default_name, run_console

            asyncio.run(run_console(settings, name=args.user or default_name()))
            return 0
        if args.command == "slack":
            from bots.slack import run_slack

            return int(asyncio.run(run_slack(settings)) or 0)
        if args.command == "discord":
            from bots.discord import run_discord

            return int(asyncio.run(run_discord(settings, sync_commands=args.sync_commands)) or 0)
        if args.command == "sessions":
            return sessions_cli.run(args, settings)
        if args.command == "db":
            from trip_planner.core.migrate import run_db_command

            sys.stdout.write(asyncio.run(run_db_command(settings.database_url, args.action)) + "\n")
            return 0
    except SchemaError as err:
        logging.getLogger("trip_planner").error("database schema: %s", redact(str(err)))
        return 2
    except ConfigError as err:
        logging.getLogger("trip_planner").error("configuration error: %s", redact(str(err)))
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`trip-planner sessions …`: the operator's command line.

`list`, `show` and `stats` read; `end` ends a conversation (its data stays); `forget` and `purge`
delete, and ask first (or take `--yes`). Every verb takes `--json` for scripts. Exit codes: 0 done, 1 nothing done (declined, not
found), 2 a bad argument.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from rich.console import Console

from trip_planner.config import Settings
from trip_planner.ops import actions, identities, queries, render
from trip_planner.ops.when import parse_since

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Add `sessions` and its verbs to the main parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of tables")
    destructive = argparse.ArgumentParser(add_help=False)
    destructive.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    sessions = sub.add_parser("sessions", help="operate conversations: list, show, end, forget, purge, stats")
    verbs = sessions.add_subparsers(dest="verb", required=True)

    listing = verbs.add_parser("list", parents=[common], help="conversations, newest first")
    listing.add_argument("--platform", choices=[*queries.PLATFORMS, "other"])
    listing.add_argument("--status", choices=queries.STATES)
    listing.add_argument("--user", help="a session user id; * matches any part (slack:T1:*:U1)")
    listing.add_argument("--since", help="started since: 7d, 24h, 30m or an ISO date (UTC)")
    listing.add_argument("--limit", type=int, default=50)

    show = verbs.add_parser("show", parents=[common], help="a conversation, or every conversation of a user id")
    show.add_argument("key", metavar="CONVERSATION_ID|USER_ID")

    end = verbs.add_parser("end", parents=[common], help="end a user id's current conversation")
    end.add_argument("user_id", metavar="USER_ID")
    end.add_argument("--feedback", choices=("satisfied", "unsatisfied"))

    forget = verbs.add_parser("forget", parents=[common, destructive], help="erase everything stored about a person")
    forget.add_argument("user_ids", metavar="USER_ID", nargs="*")
    forget.add_argument("--slack-user", action="append", default=[], metavar="TEAM:USER", help="every session of this Slack user")
    forget.add_argument("--discord-user", action="append", default=[], metavar="ID", help="every session of this Discord user")

    purge = verbs.add_parser("purge", parents=[common, destructive], help="delete ended and expired conversations past the retention")
    purge.add_argument("--older-than", type=float, metavar="DAYS", help="default: TRIP_PLANNER_RETENTION_DAYS")

    stats = verbs.add_parser("stats", parents=[common], help="per platform: conversations, outcomes, satisfaction, failures")
    stats.add_argument("--since", help="conversations started since: 7d, 24h or an ISO date (UTC)")


class Refused(Exception):
    """A bad argument, said in one line (exit code 2)."""


def confirm(question: str, *, yes: bool) -> bool:
    """Ask on stderr and read one line from stdin (y/yes); --yes answers for the operator."""
    if yes:
        return True
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `sessions` verb; its output goes to stdout, questions and refusals to stderr."""
    # Piped into a file or a pager, tables keep their ids whole instead of folding them into 80 columns.
    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        return asyncio.run(_run(args, settings, console))
    except Refused as err:
        sys.stderr.write(f"trip-planner sessions: {err}\n")
        return 2


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError as err:
        raise Refused(str(err)) from None


async def _run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    verb: str = args.verb
    idle = settings.conversation_idle_timeout_s
    if verb == "list":
        since = _since(args.since)
        async with actions.operator(settings) as op:
            rows = await queries.list_conversations(
                op.engine, idle_timeout_s=idle, platform=args.platform, state=args.status, user=args.user, since=since, limit=args.limit
            )
        if args.json:
            render.dump(console, {"conversations": [render.conversation_json(r) for r in rows]})
        else:
            console.print(render.conversations_table(rows))
        return 0
    if verb == "show":
        async with actions.operator(settings) as op:
            rows = await queries.find_conversations(op.engine, args.key, idle_timeout_s=idle)
            found = await queries.queries_of(op.engine, [r.conversation_id for r in rows])
        if not rows:
            sys.stderr.write(f"No conversation or user id {args.key!r} is stored.\n")
            return 1
        render.show(console, rows, found, as_json=args.json)
        return 0
    if verb == "stats":
        since = _since(args.since)
        async with actions.operator(settings) as op:
            result = await queries.stats(op.engine, idle_timeout_s=idle, since=since)
        render.stats(console, result, as_json=args.json)
        return 0
    if verb == "end":
        return await _end(args, settings, console)
    if verb == "forget":
        return await _forget(args, settings, console)
    if verb == "purge":
        return await _purge(args, settings, console)
    raise Refused(f"unknown verb {verb!r}")


async def _end(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    async with actions.operator(settings, writes=True) as op:
        ended = await actions.end(op, args.user_id, feedback=args.feedback)
    if ended is None:
        sys.stderr.write(f"{args.user_id} has no active conversation.\n")
        return 1
    if args.json:
        render.dump(console, {"ended": ended.conversation_id, "user_id": ended.user_id, "end_reason": ended.end_reason, "feedback": ended.feedback})
    else:
        console.print(f"Ended {ended.conversation_id} of {ended.user_id} ({ended.end_reason}).")
    return 0


async def _forget(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    try:
        patterns = [p for s in args.slack_user for p in identities.slack_patterns(s)]
        patterns += [p for d in args.discord_user for p in identities.discord_patterns(d)]
    except ValueError as err:
        raise Refused(str(err)) from None
    if not args.user_ids and not patterns:
        raise Refused("name a USER_ID, --slack-user TEAM:USER or --discord-user ID")
    async with actions.operator(settings, writes=True) as op:
        people = await actions.resolve_people(op, user_ids=args.user_ids, patterns=patterns)
        if not people:
            sys.stderr.write("Nothing is stored for that person.\n")
            return 1
        listed = "\n".join(f"  {p}" for p in people)
        question = f"Erase everything stored for these {len(people)} session user id(s)? This cannot be undone.\n{listed}\n"
        if not confirm(question, yes=args.yes):
            sys.stderr.write("Nothing deleted.\n")
            return 1
        result = await actions.forget(op, people)
        traces = await actions.delete_traces(op, result.conversation_ids)
    render.erased(console, result, as_json=args.json)
    if traces is True:
        sys.stderr.write(f"Deleted their {len(result.conversation_ids)} conversation thread(s) in Opik.\n")
    elif traces is False:
        sys.stderr.write("Their conversation threads could not be deleted in Opik (see the log); delete them there by these ids.\n")
    return 0


async def _purge(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    days = args.older_than if args.older_than is not None else float(settings.retention_days)
    if days <= 0:
        raise Refused("retention is off (TRIP_PLANNER_RETENTION_DAYS=0); pass --older-than DAYS")
    async with actions.operator(settings) as op:
        count = await actions.count_purgeable(op, days=days)
        if count == 0:
            result = await actions.purge(op, days=days)  # stale subscriptions may still go
        elif confirm(
            f"Delete {count} conversation(s) that ended or expired more than {days:g} days ago, "
            "with their ADK sessions and events?",
            yes=args.yes,
        ):
            result = await actions.purge(op, days=days)
        else:
            sys.stderr.write("Nothing deleted.\n")
            return 1
    render.purged(console, result, days=days, as_json=args.json)
    return 0

"""What the operator reads: rich tables in a terminal, or JSON (`--json`) for scripts.

JSON keys are stable and times are ISO 8601 UTC strings; tables favour reading (ids never cut).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from trip_planner.core.erasure import Erased
from trip_planner.core.retention import Purged
from trip_planner.ops.queries import OUTCOMES, ConversationRow, PlatformStats, QueryRow, Stats
from trip_planner.ops.when import iso, short


def dump(console: Console, data: Any) -> None:
    """JSON on stdout, unstyled (no colour codes, no wrapping)."""
    console.file.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def conversation_json(row: ConversationRow) -> dict[str, Any]:
    return {
        "conversation_id": row.conversation_id,
        "user_id": row.user_id,
        "platform": row.platform,
        "state": row.state,
        "end_reason": row.end_reason,
        "feedback": row.feedback,
        "turns": row.turns,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "ended_at": iso(row.ended_at),
    }


def query_json(q: QueryRow) -> dict[str, Any]:
    return {"query_num": q.query_num, "query": q.query, "response": q.response, "created_at": iso(q.created_at)}


def conversations_table(rows: Sequence[ConversationRow]) -> Table:
    table = Table(title=f"{len(rows)} conversation(s), newest first", expand=False)
    table.add_column("conversation", overflow="fold", no_wrap=False)
    table.add_column("user id", overflow="fold")
    table.add_column("state")
    table.add_column("ended as")
    table.add_column("feedback")
    table.add_column("turns", justify="right")
    table.add_column("started (UTC)")
    table.add_column("last activity (UTC)")
    for r in rows:
        table.add_row(
            r.conversation_id, r.user_id, r.state, r.end_reason or "-", r.feedback or "-", str(r.turns), short(r.created_at), short(r.updated_at)
        )
    return table


def show(console: Console, rows: Sequence[ConversationRow], queries: Mapping[str, Sequence[QueryRow]], *, as_json: bool) -> None:
    if as_json:
        dump(console, {"conversations": [{**conversation_json(r), "queries": [query_json(q) for q in queries.get(r.conversation_id, [])]} for r in rows]})
        return
    for r in rows:
        header = (
            f"[bold]{r.conversation_id}[/bold]  {r.user_id}\n"
            f"state {r.state}, ended as {r.end_reason or '-'}, feedback {r.feedback or '-'}, {r.turns} turn(s); "
            f"started {short(r.created_at)}, last activity {short(r.updated_at)}, ended {short(r.ended_at)}"
        )
        console.print(header, highlight=False)
        table = Table(show_lines=True)
        table.add_column("#", justify="right")
        table.add_column("at (UTC)")
        table.add_column("query", overflow="fold")
        table.add_column("answer", overflow="fold")
        for q in queries.get(r.conversation_id, []):
            table.add_row(str(q.query_num), short(q.created_at), q.query, q.response)
        console.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


_OUTCOME_LABEL = {"active": "still active", "new_session": "ended: new trip", "expired": "ended: expired",
                  "satisfied": "ended: satisfied", "unsatisfied": "ended: unsatisfied", "ended": "ended: other"}


def _outcome(outcome: str) -> Callable[[PlatformStats], str]:
    return lambda s: str(s.outcomes.get(outcome, 0))


def stats(console: Console, result: Stats, *, as_json: bool) -> None:
    if as_json:
        dump(
            console,
            {
                "since": iso(result.since),
                "platforms": [
                    {
                        "platform": s.platform,
                        "conversations": s.conversations,
                        "turns": s.turns,
                        "turns_per_conversation": s.turns_per_conversation,
                        "ended": {**{o: 0 for o in OUTCOMES}, **s.outcomes},
                        "satisfied": s.satisfied,
                        "unsatisfied": s.unsatisfied,
                        "satisfaction_rate": s.satisfaction_rate,
                        "failed_turns": s.failed_turns,
                        "median_time_to_answer_s": s.median_latency_s,
                    }
                    for s in result.platforms
                ],
                "notes": result.notes,
            },
        )
        return
    title = "Conversations " + (f"started since {short(result.since)}" if result.since is not None else "(all time)")
    # One column per platform and one row per measure: readable in 80 columns with any number of outcomes.
    table = Table(title=title)
    table.add_column("")
    for s in result.platforms:
        table.add_column(s.platform, justify="right")
    measures: list[tuple[str, Callable[[PlatformStats], str]]] = [
        ("conversations", lambda s: str(s.conversations)),
        ("turns per conversation", lambda s: _num(s.turns_per_conversation)),
        *((f"  {_OUTCOME_LABEL.get(o, o)}", _outcome(o)) for o in OUTCOMES),
        ("satisfaction rate", lambda s: _pct(s.satisfaction_rate)),
        ("failed turns", lambda s: str(s.failed_turns)),
        ("median time to answer", lambda s: _num(s.median_latency_s, " s")),
    ]
    for label, value in measures:
        table.add_row(label, *(value(s) for s in result.platforms))
    if not result.platforms:
        console.print("No conversations.")
    else:
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]Note: {note}[/dim]", highlight=False)


def erased(console: Console, result: Erased, *, as_json: bool) -> None:
    data = {
        "user_ids": list(result.user_ids),
        "conversation_ids": list(result.conversation_ids),
        "rows": dict(sorted(result.rows.items())),
        "note": "Threads in the tracing backend (Opik) are named by these conversation ids and are not deleted by this command.",
    }
    if as_json:
        dump(console, data)
        return
    table = Table(title=f"Erased {len(result.user_ids)} user id(s), {len(result.conversation_ids)} conversation(s)")
    table.add_column("table")
    table.add_column("rows deleted", justify="right")
    for name, count in sorted(result.rows.items()):
        table.add_row(name, str(count))
    console.print(table)
    for user_id in result.user_ids:
        console.print(f"  erased {user_id}", highlight=False)
    console.print(f"[dim]{data['note']}[/dim]", highlight=False)


def purged(console: Console, result: Purged, *, days: float, as_json: bool) -> None:
    if as_json:
        dump(console, {"older_than_days": days, "conversation_ids": result.conversation_ids, "rows": dict(sorted(result.rows.items()))})
        return
    console.print(f"Purged {result.conversations} conversation(s) ended or expired more than {days:g} days ago.", highlight=False)
    if result.rows:
        table = Table()
        table.add_column("table")
        table.add_column("rows deleted", justify="right")
        for name, count in sorted(result.rows.items()):
            table.add_row(name, str(count))
        console.print(table)

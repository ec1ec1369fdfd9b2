"""Slack acknowledgement under load: time from sending a signed Events API request to its HTTP 200,
with many in flight, for our SlackBot in HTTP mode (which stores each message before acknowledging
it, then answers with a 200 ms model) against a bare Bolt app served the same way whose listener only
sleeps 200 ms (Bolt acknowledges before running it, and stores nothing).

Slack is the Slack stand-in (tests/standins/slack.py) in this process: its Web API answers the app,
and its signer sends the events. Each app runs in its own process (bench/slack_app_proc.py), as it
would in production, so the sender's own work does not sit on the app's event loop. Our app runs on
SQLite in a temporary folder, and on PostgreSQL too when BENCH_DATABASE_URL is set (the bare
Bolt app is measured once and is the baseline of both).

Size: the issue's 50 in flight (BENCH_ACK_IN_FLIGHT) and 1,000 events in all (BENCH_ACK_EVENTS). They
come from BENCH_ACK_PEOPLE people writing DMs (default 100; per-person limits are raised in the app so
that no message is refused). The first 50 events of each app are a warm-up and not counted. About
40-70 s in all with PostgreSQL on 2 cores.

What this measures: acknowledgements arrive far faster than any app can answer, so our app's event
loop is saturated by the turns it is answering (each message asks for a full plan: seven 200 ms model
calls and the planner's CPU work), and an acknowledgement waits behind that work. The same app
idle would acknowledge much faster; under load is the case Slack's 3-second limit is about.
With PostgreSQL the split roles are measured too (core/dispatch.py): a `receive` process that
only stores and acknowledges, timed, beside an `answer` process that answers what it stored. That is
the deployment for the acknowledgement's sake: the process Slack waits on runs no turns. The answer
process shares this machine's 2 cores with it (and with the sender and PostgreSQL), so the receive
process is also measured alone (its messages stay stored, unanswered): what storing before
acknowledging costs by itself, the issue's question.
BENCH_ACK_MODEL=echo makes answers cost next to nothing (what is left is storing and the turns'
database writes); BENCH_ACK_PROFILE=FILE writes a cProfile of our app's process to FILE.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Result, Row, Series
from tests.conftest import reset_postgres
from tests.standins.slack import SlackStandIn

IN_FLIGHT = int(os.environ.get("BENCH_ACK_IN_FLIGHT", "50"))
EVENTS = int(os.environ.get("BENCH_ACK_EVENTS", "1000"))
PEOPLE = int(os.environ.get("BENCH_ACK_PEOPLE", "100"))
WARM_UP = 50

log = logging.getLogger("bench.slack_ack")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def _start_app(kind: str, slack: SlackStandIn, database_url: str) -> tuple[asyncio.subprocess.Process, str]:
    args = [kind, slack.api_url, slack.signing_secret, slack.bot_token, database_url]
    env = dict(os.environ, OPIK_TRACK_DISABLE="true")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.slack_app_proc", *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().split()
    if len(line) != 2 or line[0] != "port":
        assert proc.stderr is not None
        raise RuntimeError(f"{kind} app did not start: {(await proc.stderr.read()).decode()[-2000:]}")
    return proc, f"http://127.0.0.1:{line[1]}/slack/events"


async def _stop_app(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _load(slack: SlackStandIn, url: str, count: int, prefix: str) -> tuple[list[float], int]:
    """Send `count` DMs with `IN_FLIGHT` requests open at a time; latencies (ms) of 200s, failures."""
    latencies: list[float] = []
    failures = 0
    sent = iter(range(count))

    async def sender() -> None:
        nonlocal failures
        for n in sent:
            person = n % PEOPLE
            event = slack.user_message(user=f"U0{prefix}{person:05d}", channel=f"D0{prefix}{person:05d}",
                                       text=f"I want to plan a trip to Lisbon in May, question {n}")
            start = time.perf_counter()
            status, _ = await slack.send_event(url, event)
            elapsed = (time.perf_counter() - start) * 1000
            if status == 200:
                latencies.append(elapsed)
            else:
                failures += 1

    await asyncio.gather(*(sender() for _ in range(IN_FLIGHT)))
    return latencies, failures


async def _measure(kind: str, database_url: str = "", *, beside: str | None = None) -> tuple[list[float], int]:
    """Acknowledgement latencies of app `kind`, with an app of kind `beside` running too (the
    answer process of the split roles, which takes no events and is not timed)."""
    slack = SlackStandIn()
    await slack.start()
    helper = (await _start_app(beside, slack, database_url))[0] if beside else None
    proc, url = await _start_app(kind, slack, database_url)
    try:
        await _load(slack, url, WARM_UP, "WARM")
        return await _load(slack, url, EVENTS, "BENCH")
    finally:
        await _stop_app(proc)
        if helper is not None:
            await _stop_app(helper)
        await slack.close()


def _results(name: str, ours: tuple[list[float], int], bare: tuple[list[float], int], label: str) -> list[Result]:
    (ours_ms, ours_failed), (bare_ms, bare_failed) = ours, bare
    log.info("%s: ours p50 %.1f p99 %.1f ms, bare Bolt p50 %.1f p99 %.1f ms", name, statistics.median(ours_ms),
             _percentile(ours_ms, 0.99), statistics.median(bare_ms), _percentile(bare_ms, 0.99))
    return [
        Row(name, "time to HTTP 200, p50", statistics.median(ours_ms), statistics.median(bare_ms), baseline_name="bare Bolt"),
        Row(name, "time to HTTP 200, p99", _percentile(ours_ms, 0.99), _percentile(bare_ms, 0.99), baseline_name="bare Bolt"),
        Row(name, "events not acknowledged with 200", ours_failed, bare_failed, unit="events", baseline_name="bare Bolt"),
        _cdf(f"ours on {label} (stores, then acknowledges)", ours_ms),
    ]


def _cdf(label: str, latencies: list[float]) -> Series:
    return Series("ack_latency", label, tuple(latencies), kind="cdf", xlabel="time to HTTP 200 (ms, log scale)", log_x=True,
                  title=f"Slack acknowledgement latency, {IN_FLIGHT} in flight", ylabel="share of events")


async def run() -> list[Result]:
    """SQLite always; PostgreSQL too when BENCH_DATABASE_URL names one (its public schema is wiped)."""
    bare = await _measure("bolt")
    name = f"Slack acknowledgement, {IN_FLIGHT} in flight, {EVENTS} events"
    with tempfile.TemporaryDirectory() as tmp:
        ours = await _measure("ours", f"sqlite+aiosqlite:///{Path(tmp) / 'ack.db'}")
    results = _results(f"{name}, SQLite", ours, bare, "SQLite")
    postgres = os.environ.get("BENCH_DATABASE_URL")
    if postgres:
        await reset_postgres(postgres)
        results += _results(f"{name}, PostgreSQL", await _measure("ours", postgres), bare, "PostgreSQL")
        await reset_postgres(postgres)
        split = await _measure("receive", postgres, beside="answer")
        results += _results(f"{name}, PostgreSQL, split roles", split, bare, "PostgreSQL, receive + answer processes")
        await reset_postgres(postgres)
        alone = await _measure("receive", postgres)
        results += _results(f"{name}, PostgreSQL, receive process alone", alone, bare, "PostgreSQL, receive process alone")
    return results + [_cdf("bare Bolt (stores nothing)", bare[0])]

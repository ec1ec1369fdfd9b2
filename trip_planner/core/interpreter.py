"""The interpreter's settings for a process that answers many conversations at once: the GIL switch
interval and the garbage collector. Set by the one runner a process has, process-wide."""

from __future__ import annotations

import gc
import logging
import sys
import time

log = logging.getLogger(__name__)

# How soon a thread that wants the GIL gets it (CPython's default is 5 ms): see `share_the_gil_quickly`.
SWITCH_INTERVAL_S = 0.001


def share_the_gil_quickly() -> None:
    """A turn hands work to threads and back dozens of times (every SQL statement goes through
    aiosqlite's thread, synchronous tools through ADK's pool) while other threads (Opik's encoders,
    other turns' tools) run pure Python. Each handoff can wait a whole switch interval for the GIL,
    twice; at 5 ms that made a turn beside a busy thread hundreds of ms slower (bench_tracing's p95).
    Process-wide, so set once by the one runner a process has."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


def freeze_what_start_up_made() -> None:
    """After start-up (imports, agents, ADK and SQLAlchemy warmed up) the process holds about 300,000
    objects that live as long as it does, and a full collection walks all of them: about 200 ms on
    this 2-core machine, during which the event loop runs nothing, so every acknowledgement and turn
    in flight waits (a p99 spike in the Slack acknowledgement benchmark). `gc.freeze` moves them to a
    generation the collector never scans; what conversations allocate later is collected as before.

    Only the young generations are collected first (5 ms): a full collection here took 0.24 s of
    start-up and found nothing (start-up's garbage is collected as it goes), and whatever garbage a
    freeze keeps stays for the life of the process, which at this point is none."""
    started = time.perf_counter()
    gc.collect(1)
    gc.freeze()
    log.debug("Froze %d start-up objects in %.0f ms", gc.get_freeze_count(), (time.perf_counter() - started) * 1000)

"""The process's GIL switch interval, set by the one runner a process has."""

from __future__ import annotations

import sys

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

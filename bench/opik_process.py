"""The Opik stand-in in a process of its own, for benchmarks.

In the tests the stand-in runs on a thread of the test's process, which is what they need (they read
what it received). For a benchmark that would put the fake backend's own work (inflating and parsing
every batch the SDK sends, under the same GIL) on the measured side; a real backend runs elsewhere.
A forkserver child starts quickly and shares none of the parent's threads or locks.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from tests.standins.opik import Mode, OpikStandIn


def _serve(mode: Mode, pipe: Connection) -> None:
    standin = OpikStandIn(mode).start()
    pipe.send(standin.url)
    try:
        pipe.recv()  # until the benchmark closes its end
    except EOFError:
        pass
    standin.stop()


@contextmanager
def opik_backend(mode: Mode) -> Iterator[str]:
    """An Opik stand-in answering in `mode`, in a child process; yields its OPIK_URL_OVERRIDE."""
    context = multiprocessing.get_context("forkserver")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(mode, theirs), name=f"opik-{mode}", daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the Opik stand-in process did not start")
        yield str(ours.recv())
    finally:
        ours.close()
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()

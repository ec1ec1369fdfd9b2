"""ADK imports an optional module on every turn; without its extra installed, that costs a failed import.

ADK's workflow code, each time it wraps an agent as a node (several times a turn), tries
`from google.adk.agents.remote_a2a_agent import RemoteA2aAgent` and catches the ImportError when the
`a2a` package is absent. A failed import is not remembered: Python searches the path for it and runs
the module's first lines again every time, which measured as 3–4% of a turn's CPU under load
(py-spy, bench/bench_concurrency.py). Python's own way to remember "this module is not here" is a
`None` entry in `sys.modules`: the import then fails at once with the same ImportError ADK expects.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

log = logging.getLogger(__name__)

# ADK's modules that can only import with the `a2a` package installed (the `google-adk[a2a]` extra).
NEEDS_A2A = ("google.adk.agents.remote_a2a_agent",)


def remember_missing_adk_extras() -> None:
    """Mark ADK's a2a-only modules as absent when `a2a` is not installed; a no-op when it is."""
    if importlib.util.find_spec("a2a") is not None:
        return
    for name in NEEDS_A2A:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    log.debug("a2a is not installed: ADK's remote-agent modules are marked absent")

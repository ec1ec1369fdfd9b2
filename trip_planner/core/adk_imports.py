"""ADK imports modules inside a turn, on the event loop: the first time one of them costs a stall for
every conversation, an optional one without its extra costs a failed import every time.

ADK's agent router (`Runner.run_async` → `find_agent_to_run`) imports `google.adk.workflow._workflow`
inside the call. The first turn of a process paid for it: ADK's workflow package pulls in its auth
schemes, which import FastAPI, whose OpenAPI models pydantic builds then: about 0.3–0.4 s with the
GIL held and the event loop stopped, so every acknowledgement in flight waited (a 400 ms step in the
Slack acknowledgement benchmark's p99, found with a thread that printed the loop's stack whenever it
stopped beating). It is imported before the process reports ready instead (`prepare_adk_imports`).

ADK's workflow code, each time it wraps an agent as a node (several times a turn), tries
`from google.adk.agents.remote_a2a_agent import RemoteA2aAgent` and catches the ImportError when the
`a2a` package is absent. A failed import is not remembered: Python searches the path for it and runs
the module's first lines again every time, which measured as 3–4% of a turn's CPU under load
(py-spy, bench/bench_concurrency.py). Python's own way to remember "this module is not here" is a
`None` entry in `sys.modules`: the import then fails at once with the same ImportError ADK expects.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

log = logging.getLogger(__name__)

# ADK's modules that can only import with the `a2a` package installed (the `google-adk[a2a]` extra).
NEEDS_A2A = ("google.adk.agents.remote_a2a_agent",)
# Modules ADK imports inside a turn that cost a stall (see above); tests/test_adk_imports.py checks
# that a fresh process's first turns import neither them nor FastAPI.
IMPORTED_IN_A_TURN = ("google.adk.workflow._workflow",)


def prepare_adk_imports() -> None:
    """Called once a process, before it takes messages: both fixes of this module."""
    remember_missing_adk_extras()
    for name in IMPORTED_IN_A_TURN:
        importlib.import_module(name)


def remember_missing_adk_extras() -> None:
    """Mark ADK's a2a-only modules as absent when `a2a` is not installed; a no-op when it is."""
    if importlib.util.find_spec("a2a") is not None:
        return
    for name in NEEDS_A2A:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    log.debug("a2a is not installed: ADK's remote-agent modules are marked absent")

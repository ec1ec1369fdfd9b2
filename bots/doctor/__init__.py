"""`trip-planner doctor`: is this deployment able to run? One ✓/✗ line per check, each ✗ with its fix.

It checks what an operator gets wrong in practice, against the real services: the configuration,
the database (reachable, tables present), the Slack tokens (auth.test; the scopes the token was
granted against those in slack-app-manifest.yaml), the Discord token and the privileged intents the
bot needs, the model key, and Opik's reachability. What is not configured is skipped (–), not
failed: a Discord-only deployment has no Slack tokens. The exit code is 1 when any check failed.

It lives beside the adapters (not in the core) because it reads their configuration; it only reads,
never creates or changes anything (no tables, no commands, no messages).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from dotenv import load_dotenv

from bots.doctor.core_checks import check_configuration, check_database, check_model, check_opik
from bots.doctor.platform_checks import check_discord, check_slack
from bots.doctor.result import Check

__all__ = ["Check", "render", "run_checks", "run_doctor"]


async def run_checks(env: Mapping[str, str]) -> list[Check]:
    """Every check, in the order an operator fixes things: settings, storage, platforms, model, tracing."""
    checks: list[Check] = []
    settings, config_check = check_configuration(env)
    checks.append(config_check)
    if settings is not None:
        checks.append(await check_database(settings.database_url))
    checks += await check_slack(env)
    checks += await check_discord(env)
    if settings is not None:
        checks.append(await check_model(settings))
    checks.append(await check_opik(env))
    return checks


def render(check: Check) -> str:
    mark = {True: "✓", False: "✗", None: "–"}[check.ok]
    line = f"{mark} {check.name}: {check.detail}"
    if check.ok is False and check.fix:
        line += f"\n    fix: {check.fix}"
    return line


async def run_doctor(env: Mapping[str, str] | None = None, *, out: TextIO | None = None) -> int:
    """Run every check and write one line each to `out` (stdout); 0 when nothing failed, else 1."""
    if env is None:
        load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    stream = out or sys.stdout
    checks = await run_checks(env)
    for check in checks:
        stream.write(render(check) + "\n")
    failed = [c for c in checks if c.ok is False]
    stream.write(f"{len(failed)} problem(s) found.\n" if failed else "All checks passed.\n")
    return 1 if failed else 0

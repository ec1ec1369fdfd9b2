"""Run every benchmark module in this folder, print one Markdown table, and write it with the date,
the machine and the charts into bench/RESULTS.md (charts as PNG files beside it).

`python -m bench bench_core bench_slack_ack` runs only the named modules and only prints their table,
so a partial run never overwrites the full results; BENCH_WRITE_RESULTS=1 writes them (and their
charts) anyway. Each module's wall time is logged and listed under the table so the 10-minute budget
of `make bench` stays visible.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import importlib
import logging
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

import bench
from bench.charts import draw
from bench.table import Result, Row, render, split
from trip_planner.core.adk_imports import prepare_adk_imports

RESULTS = Path(__file__).with_name("RESULTS.md")
log = logging.getLogger("bench")


def _machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _report(rows: list[Row], charts: list[Path], timings: list[tuple[str, float]]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmark results",
        "",
        f"Measured {now} on {_machine()}. Every ratio compares with a baseline measured in the same run.",
        "",
        render(rows),
        "",
        "Module wall times: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings)
        + f" (total {sum(s for _, s in timings):.0f} s).",
        "",
    ]
    for chart in charts:
        parts += [f"![{chart.stem}]({chart.name})", ""]
    return "\n".join(parts)


async def main(selected: list[str]) -> None:
    # ADK's imports inside a turn (core/adk_imports.py) are settled for the baselines too, not only
    # from the moment our runner starts: the same ADK, the same conditions.
    prepare_adk_imports()
    # The stand-ins that send the load run in this process, which imports the whole project: a full
    # collection of its start-up objects stalls every request in flight (about 200 ms), timed against
    # ours and the baselines alike. Frozen, as the runner freezes its own (core/interpreter.py).
    gc.collect()
    gc.freeze()
    results: list[Result] = []
    timings: list[tuple[str, float]] = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if selected and info.name not in selected:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        log.info("running %s", info.name)
        started = time.perf_counter()
        results.extend(await module.run())
        timings.append((info.name, time.perf_counter() - started))
        log.info("%s took %.1f s", info.name, timings[-1][1])
    rows, series = split(results)
    sys.stdout.write(render(rows) + "\n")
    if selected and os.environ.get("BENCH_WRITE_RESULTS") != "1":
        return
    charts = await asyncio.to_thread(draw, series, RESULTS.parent)
    RESULTS.write_text(_report(rows, charts, timings))
    log.info("wrote %s and %d chart(s)", RESULTS, len(charts))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    log.setLevel(logging.INFO)
    asyncio.run(main(sys.argv[1:]))

"""Run every benchmark module in this folder and print one Markdown table."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import sys

import bench
from bench.table import Row, render


async def main(selected: list[str]) -> None:
    rows: list[Row] = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if selected and info.name not in selected:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        logging.getLogger("bench").info("running %s", info.name)
        rows.extend(await module.run())
    sys.stdout.write(render(rows) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1:]))

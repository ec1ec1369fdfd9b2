"""PNG charts of the series benchmarks return (bench/table.py `Series`), drawn with matplotlib.

Drawn off-screen (the Agg backend: no display on a server) and called through asyncio.to_thread by
bench/__main__.py, since drawing is seconds of CPU. Without matplotlib no chart is drawn and the
table is still written: a chart is a picture of the rows, not a result of its own.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from bench.table import Series

log = logging.getLogger("bench.charts")


def draw(series: list[Series], folder: Path) -> list[Path]:
    """One PNG per chart name in `folder`; returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed; no charts drawn (pip install matplotlib)")
        return []
    by_chart: dict[str, list[Series]] = {}
    for s in series:
        by_chart.setdefault(s.chart, []).append(s)
    written = []
    for chart, lines in by_chart.items():
        first = lines[0]
        fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
        for s in lines:
            if s.kind == "cdf":
                ys = sorted(y for y in s.ys if not math.isnan(y))
                shares = [(i + 1) / len(ys) for i in range(len(ys))]
                ax.step(ys, shares, where="post", label=s.label)
            else:
                xs = s.xs or tuple(float(i + 1) for i in range(len(s.ys)))
                marker = "o" if len(xs) <= 12 else "."
                ax.plot(xs, s.ys, label=s.label, marker=marker, linewidth=1.2)
        if first.log_x:
            ax.set_xscale("log")
        ax.set_title(first.title or chart)
        ax.set_xlabel(first.xlabel)
        ax.set_ylabel(first.ylabel)
        ax.grid(True, alpha=0.3)
        # Beside the axes, not on them: with five curves (the acknowledgement chart) a legend inside
        # covers the middle ones.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        notes = list(dict.fromkeys(n for s in lines for n in s.notes))
        if notes:
            fig.text(0.01, 0.01, "; ".join(notes), fontsize=7, alpha=0.7)
        fig.tight_layout(rect=(0, 0.03 if notes else 0, 1, 1))
        path = folder / f"{chart}.png"
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written

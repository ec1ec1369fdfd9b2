"""The row every benchmark returns, and the Markdown table `make bench` prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    measure: str
    ours: float
    baseline: float
    unit: str = "ms"
    baseline_name: str = "bare ADK"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


def render(rows: list[Row]) -> str:
    lines = [
        "| benchmark | measure | ours | baseline | ratio (ours / baseline) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.benchmark} | {r.measure} | {r.ours:.2f} {r.unit} | {r.baseline:.2f} {r.unit} ({r.baseline_name}) | {r.ratio:.2f} |"
        )
    return "\n".join(lines)

"""The row every benchmark returns, the Markdown table `make bench` prints, and the optional series a
module may return beside its rows for the charts `make bench` draws (bench/charts.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class Series:
    """One line of one chart. Series with the same `chart` are drawn together into `{chart}.png`.

    `kind` says how: "line" plots ys against xs (NaN ys leave gaps, e.g. fast-forwarded turns);
    "cdf" ignores xs and draws the distribution of ys (share of samples at or below each value).
    The chart's title and axis labels are taken from its first series.
    """

    chart: str
    label: str
    ys: tuple[float, ...]
    xs: tuple[float, ...] = ()
    kind: str = "line"
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    log_x: bool = False
    notes: tuple[str, ...] = field(default=())


Result = Row | Series


def split(results: list[Result]) -> tuple[list[Row], list[Series]]:
    """A module's `run()` may return rows and series mixed; the table takes the rows."""
    return [r for r in results if isinstance(r, Row)], [s for s in results if isinstance(s, Series)]


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

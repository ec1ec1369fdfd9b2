"""The process's Prometheus metrics, defined in one place (served by `trip_planner/core/health.py`).

Each `TripPlannerRunner` owns a `Metrics` with its own `CollectorRegistry` rather than the library's
global one: one runner per process in production, and several per test process, each starting at
zero. Labels are closed sets (platform, status, feedback kind, breaker state), never user text or
ids, so a scrape stays small and says nothing about anyone.

- `trip_planner_turns_total{platform,status}`: messages finished, by outcome (answered, failed,
  refused, rejected) and redeliveries ignored (duplicate); counted where the outcome is stored, so a
  turn finished by a recovery sweep counts once too.
- `trip_planner_turn_seconds{platform}`: how long the planner took for a turn (the model run and
  recording it; not the wait for the person's earlier messages).
- `trip_planner_queued_turns{platform}`: messages (and reactions or commands) of this process that
  hold or wait for a place in a person's queue, read at scrape time.
- `trip_planner_turns_held_total`: turns that waited to start because the event loop ran late
  (`core/loop_pressure.py`), read at scrape time. A steady rise means the process's CPU is the
  bottleneck: add processes, or split Slack's roles.
- `trip_planner_recovered_messages_total{platform}`: answers a recovery sweep delivered.
- `trip_planner_feedback_total{platform,kind}`: satisfied / unsatisfied.
- `trip_planner_opik_breaker_state{state}`: 1 for the Opik circuit breaker's current state
  (closed, open, half_open), or for `off` when Opik is not configured.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trip_planner.core.log_context import PLATFORMS, platform_of

CONTENT_TYPE = CONTENT_TYPE_LATEST
STATUSES = ("answered", "failed", "refused", "rejected", "duplicate")
FEEDBACK_KINDS = ("satisfied", "unsatisfied")
BREAKER_STATES = ("closed", "open", "half_open", "off")
# A turn takes from a few milliseconds (offline planner) to the turn timeout (60 s by default).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class _LiveGauges(Collector):
    """Gauges (and the held-turns counter) read from the runner when scraped, so they can never drift
    from what they describe."""

    def __init__(
        self, queued: Callable[[], Mapping[str, int]], breaker: Callable[[], str | None], held: Callable[[], int]
    ) -> None:
        self._queued = queued
        self._breaker = breaker
        self._held = held

    def collect(self) -> Iterable[Metric]:
        queued = GaugeMetricFamily(
            "trip_planner_queued_turns", "Messages of this process waiting for, or in, their turn.", labels=["platform"]
        )
        by_platform = Tally({p: 0 for p in (*PLATFORMS, "other")})
        for key, count in self._queued().items():
            by_platform[platform_of(key)] += count
        for platform, count in sorted(by_platform.items()):
            queued.add_metric([platform], count)
        yield queued
        breaker = GaugeMetricFamily(
            "trip_planner_opik_breaker_state",
            "1 for the Opik circuit breaker's current state (off: Opik not configured).",
            labels=["state"],
        )
        state = self._breaker() or "off"
        for name in BREAKER_STATES:
            breaker.add_metric([name], 1.0 if name == state else 0.0)
        yield breaker
        yield CounterMetricFamily(
            "trip_planner_turns_held", "Turns that waited to start because the event loop ran late.", value=self._held()
        )


class Metrics:
    """The counters the runner bumps, plus gauges read at scrape time."""

    def __init__(
        self,
        *,
        queued: Callable[[], Mapping[str, int]] = dict,
        breaker: Callable[[], str | None] = lambda: None,
        held: Callable[[], int] = lambda: 0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.turns = Counter(
            "trip_planner_turns", "Messages finished, by outcome.", ["platform", "status"], registry=self.registry
        )
        self.turn_seconds = Histogram(
            "trip_planner_turn_seconds",
            "Seconds the planner took for a turn (model run and recording).",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.recovered = Counter(
            "trip_planner_recovered_messages", "Answers delivered by recovery sweeps.", ["platform"], registry=self.registry
        )
        self.feedback = Counter(
            "trip_planner_feedback", "Feedback on conversations, by kind.", ["platform", "kind"], registry=self.registry
        )
        self.registry.register(_LiveGauges(queued, breaker, held))

    def turn(self, key: str, status: str, *, seconds: float | None = None) -> None:
        """One message finished with `status`; `key` is its message id (only its platform is kept)."""
        platform = platform_of(key)
        self.turns.labels(platform=platform, status=status if status in STATUSES else "failed").inc()
        if seconds is not None:
            self.turn_seconds.labels(platform=platform).observe(seconds)

    def recovered_messages(self, platform: str, count: int) -> None:
        if count > 0:
            self.recovered.labels(platform=platform_of(f"{platform}:")).inc(count)

    def feedback_given(self, key: str, kind: str) -> None:
        if kind in FEEDBACK_KINDS:
            self.feedback.labels(platform=platform_of(key), kind=kind).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of everything above."""
        return generate_latest(self.registry)

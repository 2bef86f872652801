"""Guardrail evidence per arm: error and latency observations, and the verdict on each limit.

Latency is kept as a log-scale histogram per arm: bucket 0 holds requests under 1 ms,
bucket b >= 1 holds [2^((b-1)/8), 2^(b/8)) ms, so a bucket is about 9% wide and any
ceiling or quantile can be judged after the fact.

A verdict is a posterior probability: for an error-rate limit, P(rate_arm - rate_control >
max_increase) with Beta(1 + errors, 1 + non-errors) posteriors; for a latency limit,
P(fraction of requests slower than the ceiling > 1 - quantile) with the same kind of
posterior over the slow fraction.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import policies

from .domain import ArmState, Experiment, Guardrail, GuardrailKind
from .store import RawStats

LATENCY_BUCKETS_PER_DOUBLING = 8
MAX_LATENCY_BUCKET = 20 * LATENCY_BUCKETS_PER_DOUBLING  # 2^20 ms, about 17 minutes
# Arms in these states are judged: a shadow arm that misbehaves stops being mirrored too.
JUDGED_STATES = (ArmState.LIVE, ArmState.SHADOW)


def latency_bucket(latency_ms: float) -> int:
    if latency_ms < 1.0:
        return 0
    bucket = 1 + math.floor(LATENCY_BUCKETS_PER_DOUBLING * math.log2(latency_ms))
    return min(bucket, MAX_LATENCY_BUCKET)


def _bucket_edges(bucket: int) -> tuple[float, float]:
    if bucket == 0:
        return 0.0, 1.0
    return (
        2.0 ** ((bucket - 1) / LATENCY_BUCKETS_PER_DOUBLING),
        2.0 ** (bucket / LATENCY_BUCKETS_PER_DOUBLING),
    )


def _fraction_above(bucket: int, value: float) -> float:
    """Share of a bucket's requests above value, spreading them evenly on a log scale."""
    low, high = _bucket_edges(bucket)
    if value <= low:
        return 1.0
    if value >= high:
        return 0.0
    if bucket == 0:
        return 1.0 - value / high
    return math.log(high / value) / math.log(high / low)


@dataclass(frozen=True, slots=True)
class ArmObservations:
    """Guardrail outcomes reported for one arm's decisions."""

    observations: int = 0
    error_reports: int = 0
    errors: int = 0
    latency_reports: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.error_reports if self.error_reports else 0.0

    def slower_than(self, ceiling_ms: float) -> float:
        """Estimated number of latency reports above ceiling_ms."""
        return sum(n * _fraction_above(b, ceiling_ms) for b, n in self.histogram.items())

    def latency_quantile(self, q: float) -> float:
        """Estimated q-quantile of latency in ms (0 without reports)."""
        if not self.latency_reports:
            return 0.0
        target = q * self.latency_reports
        seen = 0.0
        for bucket in sorted(self.histogram):
            count = self.histogram[bucket]
            if seen + count >= target:
                low, high = _bucket_edges(bucket)
                within = (target - seen) / count
                if bucket == 0:
                    return within * high
                return float(low * (high / low) ** within)
            seen += count
        return _bucket_edges(max(self.histogram))[1]


def parse_observations(raw: RawStats, arm_names: list[str]) -> list[ArmObservations]:
    """Turns an observations hash (fields 'arm:n', 'arm:err', 'arm:lat:7', ...) into rows."""
    rows: dict[str, dict[str, int]] = {arm: {} for arm in arm_names}
    histograms: dict[str, dict[int, int]] = {arm: {} for arm in arm_names}
    for key, value in raw.items():
        parts = key.decode().split(":")
        if len(parts) == 3 and parts[1] == "lat" and parts[0] in histograms:
            histograms[parts[0]][int(parts[2])] = int(value)
        elif len(parts) == 2 and parts[0] in rows:
            rows[parts[0]][parts[1]] = int(value)
    return [
        ArmObservations(
            observations=rows[arm].get("n", 0),
            error_reports=rows[arm].get("errn", 0),
            errors=rows[arm].get("err", 0),
            latency_reports=rows[arm].get("latn", 0),
            histogram=histograms[arm],
        )
        for arm in arm_names
    ]


@dataclass(frozen=True, slots=True)
class Check:
    """One guardrail judged for one arm."""

    guardrail: str
    arm: str
    probability: float
    samples: int
    control_samples: int
    # False until the arm (and the control) have min_samples observations.
    judged: bool
    reason: str

    def breached(self, level: float) -> bool:
        return self.judged and self.probability >= level


def _error_rate_check(
    guardrail: Guardrail,
    arm: str,
    mine: ArmObservations,
    control: ArmObservations,
    draws: int,
) -> Check:
    probability = policies.prob_exceeds_by(
        1.0 + mine.errors,
        1.0 + mine.error_reports - mine.errors,
        1.0 + control.errors,
        1.0 + control.error_reports - control.errors,
        guardrail.max_increase,
        draws,
    )
    judged = min(mine.error_reports, control.error_reports) >= guardrail.min_samples
    reason = (
        f"error rate {mine.error_rate:.4f} ({mine.errors}/{mine.error_reports}) vs control "
        f"'{guardrail.control_arm}' {control.error_rate:.4f} "
        f"({control.errors}/{control.error_reports}); limit +{guardrail.max_increase:g}"
    )
    return Check(
        guardrail.name,
        arm,
        probability,
        mine.error_reports,
        control.error_reports,
        judged,
        reason,
    )


def _latency_check(guardrail: Guardrail, arm: str, mine: ArmObservations, draws: int) -> Check:
    slow = min(mine.slower_than(guardrail.ceiling_ms), float(mine.latency_reports))
    probability = policies.prob_above(
        1.0 + slow, 1.0 + mine.latency_reports - slow, 1.0 - guardrail.quantile, draws
    )
    share_slow = slow / mine.latency_reports if mine.latency_reports else 0.0
    reason = (
        f"{share_slow:.1%} of {mine.latency_reports} requests slower than "
        f"{guardrail.ceiling_ms:g} ms (p{guardrail.quantile * 100:g} about "
        f"{mine.latency_quantile(guardrail.quantile):.0f} ms); limit "
        f"{1 - guardrail.quantile:.0%}"
    )
    judged = mine.latency_reports >= guardrail.min_samples
    return Check(guardrail.name, arm, probability, mine.latency_reports, 0, judged, reason)


class ObservationHistory:
    """Snapshots of the observation counters, kept in memory to judge recent evidence.

    Counters in Redis only grow, so the observations of the last window are the counters
    now minus a snapshot taken a window ago. The autopilot takes a snapshot about every
    1/30 of the shortest window; a replica that has not watched an experiment for a whole
    window yet judges all history.
    """

    _STEPS_PER_WINDOW = 30

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], deque[tuple[float, RawStats]]] = {}

    def record(self, experiment: Experiment, segment: str, now_s: float, raw: RawStats) -> None:
        windows = [g.window_s for g in experiment.guardrails if g.window_s > 0]
        if not windows:
            return
        step_s = min(windows) / self._STEPS_PER_WINDOW
        keep_s = max(windows) + step_s
        with self._lock:
            series = self._series.setdefault((experiment.name, segment), deque())
            if not series or now_s - series[-1][0] >= step_s:
                series.append((now_s, dict(raw)))
            # Keep one snapshot older than the longest window: it is that window's baseline.
            while len(series) > 1 and now_s - series[1][0] >= keep_s:
                series.popleft()

    def baseline(
        self, experiment: str, segment: str, now_s: float, window_s: float
    ) -> RawStats | None:
        """The newest snapshot at least window_s old; None if there is none yet."""
        with self._lock:
            series = self._series.get((experiment, segment), ())
            found = None
            for taken_s, raw in series:
                if now_s - taken_s < window_s:
                    break
                found = raw
            return found


def _minus(current: RawStats, base: RawStats) -> RawStats:
    return {key: str(int(value) - int(base.get(key, 0))).encode() for key, value in current.items()}


class Evidence:
    """The observations each guardrail judges: its segment's (or all), over its window."""

    def __init__(
        self,
        experiment: Experiment,
        raw: RawStats,
        raw_segments: Mapping[str, RawStats] | None = None,
        history: ObservationHistory | None = None,
        now_s: float = 0.0,
        scope: str = "",
    ) -> None:
        self.experiment = experiment
        self.scope = scope
        self._raw = raw
        self._raw_segments = raw_segments or {}
        self._history = history
        self._now_s = now_s
        self._cache: dict[tuple[str, float], list[ArmObservations]] = {}

    def for_guardrail(self, guardrail: Guardrail) -> list[ArmObservations]:
        segment = self.scope or guardrail.segment
        key = (segment, guardrail.window_s)
        if key not in self._cache:
            raw = self._raw if self.scope or not guardrail.segment else None
            if raw is None:
                raw = self._raw_segments.get(guardrail.segment, {})
            if guardrail.window_s > 0 and self._history is not None:
                base = self._history.baseline(
                    self.experiment.name, segment, self._now_s, guardrail.window_s
                )
                if base is not None:
                    raw = _minus(raw, base)
            self._cache[key] = parse_observations(raw, self.experiment.arm_names)
        return self._cache[key]


def judge(evidence: Evidence, draws: int) -> dict[str, list[Check]]:
    """Every guardrail judged for every live or shadow arm: arm name -> checks.

    With evidence.scope (the status of one segment), guardrails scoped to other segments
    are left out. An error-rate limit is not judged for its own control arm.
    """
    experiment = evidence.experiment
    checks: dict[str, list[Check]] = {}
    for guardrail in experiment.guardrails:
        if guardrail.segment and evidence.scope and guardrail.segment != evidence.scope:
            continue
        observations = evidence.for_guardrail(guardrail)
        if guardrail.kind is GuardrailKind.ERROR_RATE:
            control_name = guardrail.control(experiment)
            named = replace(guardrail, control_arm=control_name)
            control = observations[experiment.arm_index(control_name)]
        for index, arm in enumerate(experiment.arms):
            if arm.state not in JUDGED_STATES:
                continue
            mine = observations[index]
            if guardrail.kind is GuardrailKind.ERROR_RATE:
                if arm.name == control_name:
                    continue
                check = _error_rate_check(named, arm.name, mine, control, draws)
            else:
                check = _latency_check(guardrail, arm.name, mine, draws)
            if guardrail.segment:
                check = replace(check, reason=f"in segment '{guardrail.segment}': {check.reason}")
            checks.setdefault(arm.name, []).append(check)
    return checks

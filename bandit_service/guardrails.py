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


def judge(
    experiment: Experiment,
    observations: list[ArmObservations],
    draws: int,
    segment_observations: Mapping[str, list[ArmObservations]] | None = None,
    scope: str = "",
) -> dict[str, list[Check]]:
    """Every guardrail judged for every live or shadow arm: arm name -> checks.

    A guardrail scoped to a segment is judged on that segment's observations (from
    segment_observations; none yet: not judged). With scope, observations are one
    segment's, and guardrails scoped to other segments are left out. An error-rate limit
    is not judged for its own control arm.
    """
    checks: dict[str, list[Check]] = {}
    empty = [ArmObservations()] * len(experiment.arms)
    for guardrail in experiment.guardrails:
        if guardrail.segment and scope and guardrail.segment != scope:
            continue
        evidence = observations
        if guardrail.segment and not scope:
            evidence = (segment_observations or {}).get(guardrail.segment, empty)
        if guardrail.kind is GuardrailKind.ERROR_RATE:
            control_name = guardrail.control(experiment)
            named = replace(guardrail, control_arm=control_name)
            control = evidence[experiment.arm_index(control_name)]
        for index, arm in enumerate(experiment.arms):
            if arm.state not in JUDGED_STATES:
                continue
            mine = evidence[index]
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

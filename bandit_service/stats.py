"""From an experiment's raw statistics to what policies and the status view need.

Binary rewards: a decision (pull) without a success counts as a failure (the default
reward 0), so trials are pulls and successes the reward sum. Continuous rewards: only
reported rewards count, unless the experiment declares a default reward for decisions
that get none. Rewards are scaled to [0, 1] by the declared range, so the same policies
apply to both. With reward timing, the policies see matured decisions only (older than
the reward wait) and, with a window, only the recent ones.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

import policies

from . import guardrails
from .domain import ArmState, Experiment, PolicyName, RewardTiming, RewardType, Rollback
from .guardrails import ArmObservations, Check
from .store import STAT_FIELDS, RawStats, TimeBucket

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Two-sided 95% normal quantile, for continuous confidence intervals.
_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Sufficient statistics of every arm of one experiment, aligned with its arms."""

    pulls: FloatArray
    rewards: FloatArray
    sums: FloatArray
    sumsq: FloatArray

    @classmethod
    def from_raw(cls, experiment: Experiment, raw: RawStats) -> ArmStats:
        slots = _stat_slots(tuple(experiment.arm_names))
        table = np.zeros((len(STAT_FIELDS), len(experiment.arms)))
        for key, value in raw.items():
            slot = slots.get(key)
            if slot is not None:
                table[slot] = float(value)
        pulls, rewards, sums, sumsq = table
        return cls(pulls, rewards, sums, sumsq)

    def same_as(self, other: ArmStats) -> bool:
        """Whether both hold the same numbers (a reload with nothing new changes nothing)."""
        return all(
            np.array_equal(mine, theirs)
            for mine, theirs in (
                (self.pulls, other.pulls),
                (self.rewards, other.rewards),
                (self.sums, other.sums),
                (self.sumsq, other.sumsq),
            )
        )


@functools.lru_cache(maxsize=65_536)
def _stat_slots(arm_names: tuple[str, ...]) -> dict[bytes, tuple[int, int]]:
    """Stats hash field -> (statistic, arm) position, per set of arms: parsing a snapshot's
    hash is one dict lookup a field (a replica parses one for every change it reloads)."""
    return {
        f"{arm}:{stat}".encode(): (row, column)
        for column, arm in enumerate(arm_names)
        for row, stat in enumerate(STAT_FIELDS)
    }


def live_mask(experiment: Experiment) -> BoolArray:
    return np.array([arm.state is ArmState.LIVE for arm in experiment.arms], dtype=np.bool_)


def counted_stats(experiment: Experiment, stats: ArmStats) -> ArmStats:
    """Decisions without a reward counted at the experiment's default reward.

    The result has one "reward" per trial: binary rewards (default 0) make every pull a
    trial; continuous rewards without a default make only the rewarded decisions trials.
    """
    default = experiment.default_reward
    if default is None:
        return stats
    # Rewards may land before the decision counts of their replica are flushed.
    missing = np.maximum(stats.pulls - stats.rewards, 0.0)
    return ArmStats(
        pulls=stats.pulls,
        rewards=np.maximum(stats.pulls, stats.rewards),
        sums=stats.sums + default * missing,
        sumsq=stats.sumsq + default * default * missing,
    )


def trials_and_successes(experiment: Experiment, stats: ArmStats) -> tuple[FloatArray, FloatArray]:
    """Effective Bernoulli trials and successes per arm (see the module docstring)."""
    counted = counted_stats(experiment, stats)
    low, span = experiment.reward_min, experiment.reward_max - experiment.reward_min
    trials = counted.rewards.copy()
    successes = np.clip((counted.sums - low * trials) / span, 0.0, trials)
    return trials, successes


def scaled_sum_squares(experiment: Experiment, stats: ArmStats) -> FloatArray:
    """Sum of squares of the counted rewards scaled to [0, 1]."""
    counted = counted_stats(experiment, stats)
    if experiment.reward_type is RewardType.BINARY:
        # Binary experiments keep no sum of squares: a 0/1 reward squared is itself.
        return np.minimum(counted.sums, counted.rewards)
    low, span = experiment.reward_min, experiment.reward_max - experiment.reward_min
    raw = counted.sumsq - 2 * low * counted.sums + counted.rewards * low * low
    return np.maximum(raw, 0.0) / (span * span)


# --- reward timing: delayed rewards and the sliding window ------------------------------
# Extra time a decision-time bucket is kept, so that a late reward still finds it.
_BUCKET_GRACE_S = 3600


def time_bucket(timing: RewardTiming, unix_ms: int) -> TimeBucket | None:
    """The decision-time bucket of a decision made at unix_ms (None without reward timing)."""
    bucket_s = timing.bucket_s
    if not bucket_s:
        return None
    index = unix_ms // 1000 // bucket_s
    keep_s = timing.reward_wait_s + timing.window_s + 2 * bucket_s + _BUCKET_GRACE_S
    return TimeBucket(bucket_s, index, int((index + 1) * bucket_s + keep_s))


def bucket_range(timing: RewardTiming, now_ms: int) -> tuple[int, int, int] | None:
    """(bucket_s, first, last): the buckets matured_stats may need at now_ms."""
    bucket_s = timing.bucket_s
    if not bucket_s:
        return None
    now_s = now_ms / 1000
    first = int((now_s - timing.reward_wait_s - timing.window_s) // bucket_s) - 1
    return bucket_s, first, int(now_s // bucket_s)


def matured_stats(
    experiment: Experiment, totals: ArmStats, buckets: Mapping[int, RawStats], now_ms: int
) -> ArmStats:
    """The statistics of matured decisions (older than the reward wait) in the window.

    A decision younger than reward_wait_s counts neither as success nor failure, even if
    rewarded already, so an arm with much fresh traffic is judged on the same footing as
    the others. A bucket that straddles the maturity cutoff counts as young.
    """
    timing = experiment.timing
    if not timing.bucketed:
        return totals
    bucket_s = timing.bucket_s
    cutoff_s = now_ms / 1000 - timing.reward_wait_s
    rows = {index: ArmStats.from_raw(experiment, raw) for index, raw in buckets.items()}
    young = [row for index, row in rows.items() if (index + 1) * bucket_s > cutoff_s]
    if timing.window_s > 0:
        start_s = cutoff_s - timing.window_s
        matured = [
            row
            for index, row in rows.items()
            if (index + 1) * bucket_s <= cutoff_s and index * bucket_s >= start_s
        ]
        return _sum_stats(experiment, matured)
    if not young:
        return totals
    recent = _sum_stats(experiment, young)
    return ArmStats(
        pulls=np.maximum(totals.pulls - recent.pulls, 0.0),
        rewards=np.maximum(totals.rewards - recent.rewards, 0.0),
        sums=totals.sums - recent.sums,
        sumsq=np.maximum(totals.sumsq - recent.sumsq, 0.0),
    )


def _sum_stats(experiment: Experiment, rows: list[ArmStats]) -> ArmStats:
    zeros = np.zeros(len(experiment.arms))
    return ArmStats(
        pulls=sum((r.pulls for r in rows), zeros.copy()),
        rewards=sum((r.rewards for r in rows), zeros.copy()),
        sums=sum((r.sums for r in rows), zeros.copy()),
        sumsq=sum((r.sumsq for r in rows), zeros.copy()),
    )


def make_policy(experiment: Experiment, share_draws: int) -> policies.Policy:
    params = dict(experiment.policy.params)
    if experiment.policy.name in (PolicyName.THOMPSON, PolicyName.GAUSSIAN_THOMPSON):
        params["share_draws"] = share_draws
    return policies.make_policy(experiment.policy.name.value, **params)


def share_bounds(experiment: Experiment, stats: ArmStats) -> tuple[FloatArray, FloatArray] | None:
    """(floor, cap) per arm from the arms' limits, or None when no live arm has any."""
    if all(arm.limits.empty for arm in experiment.live_arms):
        return None
    floor = np.zeros(len(experiment.arms))
    cap = np.ones(len(experiment.arms))
    for i, arm in enumerate(experiment.arms):
        if arm.is_live:
            floor[i], cap[i] = arm.limits.bounds(stats.rewards[i])
    return floor, cap


def build_allocation(
    experiment: Experiment, stats: ArmStats, share_draws: int
) -> policies.Allocation:
    """The allocation a replica decides from until its next refresh."""
    if experiment.paused:
        return policies.one_hot_allocation(len(experiment.arms), experiment.default_index)
    trials, successes = trials_and_successes(experiment, stats)
    weights = np.array(
        [experiment.policy.weights.get(arm, 0.0) for arm in experiment.arm_names], dtype=np.float64
    )
    policy = make_policy(experiment, share_draws)
    live = live_mask(experiment)
    if isinstance(policy, policies.GaussianThompson):
        sum_squares = scaled_sum_squares(experiment, stats)
        allocation = policy.allocate(trials, successes, live, weights, sum_squares)
    else:
        allocation = policy.allocate(trials, successes, live, weights)
    bounds = share_bounds(experiment, stats)
    if bounds is None:
        return allocation
    return policies.constrained_allocation(allocation, *bounds)


@dataclass(frozen=True, slots=True)
class ArmStatus:
    name: str
    version: str
    state: ArmState
    is_default: bool
    pulls: int
    rewards: int
    reward_sum: float
    mean_reward: float
    interval_low: float
    interval_high: float
    traffic_share: float
    prob_best: float
    expected_loss: float
    promotion_ready: bool
    observations: ArmObservations
    floor: float
    cap: float
    rollback: Rollback | None
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Posteriors:
    """What the evidence says about each arm's mean reward (all history)."""

    means: FloatArray
    low: FloatArray
    high: FloatArray
    prob_best: FloatArray
    # Expected reward given up by choosing the arm, relative to the best live arm's mean.
    expected_loss: FloatArray
    # Trials behind each arm: decisions (binary rewards) or rewards (continuous).
    samples: FloatArray


def posteriors(experiment: Experiment, stats: ArmStats, draws: int) -> Posteriors:
    """Means with 95% intervals, P(best) and expected loss among live arms (Monte Carlo)."""
    live = live_mask(experiment)
    if experiment.reward_type is RewardType.BINARY:
        successes = np.minimum(stats.sums, stats.pulls)
        prior_a, prior_b = 1.0, 1.0
        if experiment.policy.name is PolicyName.THOMPSON:
            prior_a = experiment.policy.param("prior_alpha")
            prior_b = experiment.policy.param("prior_beta")
        alpha = prior_a + successes
        beta = prior_b + (stats.pulls - successes)
        means = np.divide(
            successes, stats.pulls, out=np.zeros_like(successes), where=stats.pulls > 0
        )
        low, high = policies.beta_credible_intervals(alpha, beta, 0.95, draws)
        prob_best, loss = policies.beta_best_and_loss(alpha, beta, live, draws)
        centers = alpha / (alpha + beta)
        scale = float(np.max(centers[live])) if live.any() else 1.0
        samples = stats.pulls
    else:
        n = stats.rewards
        means = np.divide(stats.sums, n, out=np.zeros_like(n), where=n > 0)
        variance = np.divide(stats.sumsq, n, out=np.zeros_like(n), where=n > 0) - means**2
        span = experiment.reward_max - experiment.reward_min
        # With fewer than two rewards nothing is known: the whole range is plausible.
        sds = np.where(n >= 2, np.sqrt(np.maximum(variance, 0.0) / np.maximum(n - 1, 1)), span)
        low = np.where(n >= 2, means - _Z95 * sds, experiment.reward_min)
        high = np.where(n >= 2, means + _Z95 * sds, experiment.reward_max)
        centers = np.where(n > 0, means, experiment.reward_min + span / 2)
        prob_best, loss = policies.normal_best_and_loss(centers, sds, live, draws)
        best = float(np.max(centers[live])) if live.any() else span
        # A best mean at or below zero makes a ratio meaningless: use the reward range then.
        scale = best if best > 0 else span
        samples = stats.rewards
    prob_best = np.where(np.isfinite(prob_best), prob_best, 0.0)
    return Posteriors(means, low, high, prob_best, loss / max(scale, 1e-12), samples)


@dataclass(frozen=True, slots=True)
class Readiness:
    """Which arm, if any, meets the experiment's promotion rule, and why (not)."""

    ready_arm: str
    explanation: str


def promotion_readiness(experiment: Experiment, post: Posteriors) -> Readiness:
    rule = experiment.promotion
    live = [i for i, arm in enumerate(experiment.arms) if arm.is_live]
    if len(live) < 2:
        return Readiness("", "one live arm: nothing to choose between")
    short = [i for i in live if post.samples[i] < rule.min_samples]
    if short:
        listing = ", ".join(
            f"{experiment.arms[i].name} {int(post.samples[i])}/{rule.min_samples}" for i in short
        )
        return Readiness("", f"waiting for samples: {listing}")
    best = max(live, key=lambda i: post.prob_best[i])
    name = experiment.arms[best].name
    p_best, loss = post.prob_best[best], post.expected_loss[best]
    if p_best < rule.prob_best:
        return Readiness("", f"{name} leads with P(best) {p_best:.3f} < {rule.prob_best:g}")
    if loss > rule.max_expected_loss:
        return Readiness("", f"{name}: expected loss {loss:.2%} > {rule.max_expected_loss:.2%}")
    return Readiness(
        name,
        f"{name} is ready: P(best) {p_best:.3f} >= {rule.prob_best:g}, expected loss "
        f"{loss:.2%} <= {rule.max_expected_loss:.2%}",
    )


def arm_statuses(
    experiment: Experiment,
    stats: ArmStats,
    observations: list[ArmObservations],
    evidence: guardrails.Evidence,
    draws: int,
    decision_stats: ArmStats | None = None,
) -> tuple[list[ArmStatus], Readiness]:
    """Per-arm status: means with 95% intervals, current traffic share, P(best) and expected
    loss among live arms, guardrail evidence and verdicts, and the bounds in force; and the
    promotion readiness.

    Counts, means and intervals describe all history (stats). Shares, P(best), expected
    loss and readiness describe what the policy decides from (decision_stats: matured
    decisions in the window, with reward timing; default rewards counted).
    """
    current = stats if decision_stats is None else decision_stats
    shares = build_allocation(experiment, current, draws).shares
    bounds = share_bounds(experiment, stats)
    checks = guardrails.judge(evidence, draws)
    post = posteriors(experiment, stats, draws)
    unchanged = experiment.reward_type is RewardType.BINARY or experiment.default_reward is None
    if decision_stats is None and unchanged:
        post_now = post
    else:
        post_now = posteriors(experiment, counted_stats(experiment, current), draws)
    readiness = promotion_readiness(experiment, post_now)
    statuses = [
        ArmStatus(
            name=arm.name,
            version=arm.version,
            state=arm.state,
            is_default=arm.name == experiment.default_arm,
            pulls=int(stats.pulls[i]),
            rewards=int(stats.rewards[i]),
            reward_sum=float(stats.sums[i]),
            mean_reward=float(post.means[i]),
            interval_low=float(post.low[i]),
            interval_high=float(post.high[i]),
            traffic_share=float(shares[i]),
            prob_best=float(post_now.prob_best[i]),
            expected_loss=float(post_now.expected_loss[i]),
            promotion_ready=arm.name == readiness.ready_arm,
            observations=observations[i],
            floor=0.0 if bounds is None else float(bounds[0][i]),
            cap=1.0 if bounds is None else float(bounds[1][i]),
            rollback=arm.rollback,
            checks=tuple(checks.get(arm.name, ())),
        )
        for i, arm in enumerate(experiment.arms)
    ]
    return statuses, readiness

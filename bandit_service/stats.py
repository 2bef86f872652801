"""From an experiment's raw statistics to what policies and the status view need.

Binary rewards: a decision (pull) without a success counts as a failure, so trials are
pulls and successes the reward sum. Continuous rewards: only reported rewards count;
each is scaled to [0, 1] by the declared range, so the same policies apply to both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

import policies

from . import guardrails
from .domain import ArmState, Experiment, PolicyName, RewardType, Rollback
from .guardrails import ArmObservations, Check
from .store import RawStats, parse_stats

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
        rows = parse_stats(raw, experiment.arm_names)
        columns = {
            stat: np.array([rows[arm][stat] for arm in experiment.arm_names], dtype=np.float64)
            for stat in ("pulls", "rewards", "sum", "sumsq")
        }
        return cls(columns["pulls"], columns["rewards"], columns["sum"], columns["sumsq"])


def live_mask(experiment: Experiment) -> BoolArray:
    return np.array([arm.state is ArmState.LIVE for arm in experiment.arms], dtype=np.bool_)


def trials_and_successes(experiment: Experiment, stats: ArmStats) -> tuple[FloatArray, FloatArray]:
    """Effective Bernoulli trials and successes per arm (see the module docstring)."""
    if experiment.reward_type is RewardType.BINARY:
        trials = stats.pulls.copy()
        # Rewards may land before the decision counts of their replica are flushed.
        successes = np.minimum(stats.sums, trials)
        return trials, successes
    span = experiment.reward_max - experiment.reward_min
    trials = stats.rewards.copy()
    successes = np.clip((stats.sums - experiment.reward_min * trials) / span, 0.0, trials)
    return trials, successes


def scaled_sum_squares(experiment: Experiment, stats: ArmStats) -> FloatArray:
    """Sum of squares of the rewards scaled to [0, 1] (binary: each success squared is 1)."""
    if experiment.reward_type is RewardType.BINARY:
        return np.minimum(stats.sums, stats.pulls)
    low, span = experiment.reward_min, experiment.reward_max - experiment.reward_min
    raw = stats.sumsq - 2 * low * stats.sums + stats.rewards * low * low
    return np.maximum(raw, 0.0) / (span * span)


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
    observations: ArmObservations
    floor: float
    cap: float
    rollback: Rollback | None
    checks: tuple[Check, ...]


def arm_statuses(
    experiment: Experiment,
    stats: ArmStats,
    observations: list[ArmObservations],
    draws: int,
) -> list[ArmStatus]:
    """Per-arm status: means with 95% intervals, current traffic share, P(best) among live
    arms, guardrail evidence and verdicts, and the bounds in force."""
    live = live_mask(experiment)
    shares = build_allocation(experiment, stats, draws).shares
    bounds = share_bounds(experiment, stats)
    checks = guardrails.judge(experiment, observations, draws)
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
        prob_best = policies.prob_best_binary(alpha, beta, live, draws)
    else:
        n = stats.rewards
        means = np.divide(stats.sums, n, out=np.zeros_like(n), where=n > 0)
        variance = np.divide(stats.sumsq, n, out=np.zeros_like(n), where=n > 0) - means**2
        span = experiment.reward_max - experiment.reward_min
        # With fewer than two rewards nothing is known: the whole range is plausible.
        sds = np.where(n >= 2, np.sqrt(np.maximum(variance, 0.0) / np.maximum(n - 1, 1)), span)
        low = np.where(n >= 2, means - _Z95 * sds, experiment.reward_min)
        high = np.where(n >= 2, means + _Z95 * sds, experiment.reward_max)
        prob_best = policies.prob_best_normal(
            np.where(n > 0, means, experiment.reward_min + span / 2), sds, live, draws
        )
    return [
        ArmStatus(
            name=arm.name,
            version=arm.version,
            state=arm.state,
            is_default=arm.name == experiment.default_arm,
            pulls=int(stats.pulls[i]),
            rewards=int(stats.rewards[i]),
            reward_sum=float(stats.sums[i]),
            mean_reward=float(means[i]),
            interval_low=float(low[i]),
            interval_high=float(high[i]),
            traffic_share=float(shares[i]),
            prob_best=float(prob_best[i]) if math.isfinite(prob_best[i]) else 0.0,
            observations=observations[i],
            floor=0.0 if bounds is None else float(bounds[0][i]),
            cap=1.0 if bounds is None else float(bounds[1][i]),
            rollback=arm.rollback,
            checks=tuple(checks.get(arm.name, ())),
        )
        for i, arm in enumerate(experiment.arms)
    ]

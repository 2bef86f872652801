"""Compile (or load from cache) every kernel before a server reports itself ready."""

import secrets
import time

import numpy as np

from policies import _kernels
from policies.allocation import allocation_for_paused, choose, choose_many
from policies.constraints import constrain_shares, constrained_allocation
from policies.gaussian_thompson import GaussianThompson, gaussian_posteriors
from policies.guardrails import prob_above, prob_above_many, prob_exceeds_by, prob_exceeds_by_many
from policies.promotion import beta_best_and_loss, normal_best_and_loss
from policies.registry import POLICIES
from policies.status import beta_credible_intervals, prob_best_binary, prob_best_normal
from policies.sticky import arm_salts, choose_sticky, choose_sticky_many, unit_hash


def warm_up() -> float:
    """Run every kernel once on tiny arrays of the production dtypes; returns seconds taken.

    Goes through the drivers, so the read-only arrays of real allocations get their own
    numba specialization compiled too, then calls the kernels with writable arrays.
    """
    start = time.perf_counter()
    # Reseeding from entropy compiles seed() without leaving this thread's stream predictable.
    _kernels.seed(secrets.randbits(32))
    trials = np.array([10.0, 0.0, 5.0])
    successes = np.array([4.0, 0.0, 5.0])
    live = np.array([True, True, False])
    weights = np.array([1.0, 2.0, 3.0])
    for factory in POLICIES.values():
        allocation = factory().allocate(trials, successes, live, weights)
        choose(allocation)
        choose_many(allocation, 2)
    choose(allocation_for_paused(3, 0))
    prob_best_binary(trials + 1.0, trials - successes + 1.0, live, n_draws=2)
    prob_best_normal(successes, trials, live, n_draws=2)
    beta_credible_intervals(trials + 1.0, trials + 1.0, n_draws=2)

    # Floors and caps, sticky assignment, guardrails, promotion readiness, Gaussian posteriors.
    floor = np.array([0.1, 0.0, 0.0])
    cap = np.array([0.6, 1.0, 1.0])
    constrain_shares(np.array([0.7, 0.3, 0.0]), live, floor, cap)
    constrained = constrained_allocation(allocation, floor, cap)
    salts = arm_salts(["a", "b", "c"])
    for target in (allocation, constrained):
        choose_sticky(target, salts, unit_hash("warm-up", "unit"))
        choose_sticky_many(target, salts, np.array([1, 2**63], dtype=np.uint64))
    # A caller's own (writable) salt table is a second numba specialization.
    choose_sticky(allocation, salts.copy(), 1)
    prob_exceeds_by(2.0, 3.0, 3.0, 2.0, 0.01, draws=2)
    prob_above(2.0, 3.0, 0.05, draws=2)
    prob_exceeds_by_many(trials + 1.0, trials + 1.0, 0, 0.01, live, draws=2)
    prob_above_many(trials + 1.0, trials + 1.0, 0.05, live, draws=2)
    beta_best_and_loss(trials + 1.0, trials + 1.0, live, draws=2)
    normal_best_and_loss(successes, trials, live, draws=2)
    gaussian_posteriors(trials, successes, successes)
    gaussian_posteriors(trials, successes)
    GaussianThompson(share_draws=2).allocate(trials, successes, live, weights, successes)

    alpha = trials + 1.0
    out = np.empty(3)
    picks = np.empty(2, dtype=np.int64)
    _kernels.thompson_choose(alpha, alpha, live)
    _kernels.thompson_choose_many(alpha, alpha, live, picks)
    _kernels.cumulative(weights, out)
    _kernels.categorical_choose(out)
    _kernels.categorical_choose_many(out, picks)
    return time.perf_counter() - start

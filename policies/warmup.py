"""Compile (or load from cache) every kernel before a server reports itself ready."""

import secrets
import time

import numpy as np

from policies import _kernels
from policies.allocation import allocation_for_paused, choose, choose_many
from policies.registry import POLICIES
from policies.status import beta_credible_intervals, prob_best_binary, prob_best_normal


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

    alpha = trials + 1.0
    out = np.empty(3)
    picks = np.empty(2, dtype=np.int64)
    _kernels.thompson_choose(alpha, alpha, live)
    _kernels.thompson_choose_many(alpha, alpha, live, picks)
    _kernels.cumulative(weights, out)
    _kernels.categorical_choose(out)
    _kernels.categorical_choose_many(out, picks)
    return time.perf_counter() - start

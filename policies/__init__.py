"""Bandit policies: numba kernels over per-arm statistics behind thin, typed drivers.

A policy turns statistics into an Allocation at snapshot time; choose() draws decisions from it.
"""

from policies import _kernels
from policies._checks import count_within
from policies.allocation import (
    MODE_CATEGORICAL,
    MODE_THOMPSON,
    Allocation,
    Policy,
    allocation_for_paused,
    choose,
    choose_many,
    one_hot_allocation,
)
from policies.epsilon_greedy import EpsilonGreedy
from policies.fixed import FixedWeights
from policies.registry import POLICIES, make_policy
from policies.status import beta_credible_intervals, prob_best_binary, prob_best_normal
from policies.thompson import ThompsonSampling
from policies.ucb import KLUCB, UCB1
from policies.warmup import warm_up


def seed(s: int) -> None:
    """Seed numba's random generator for the calling thread only.

    numba keeps one generator per thread, untouched by np.random.seed from Python; tests that
    need reproducible decisions call this first, in the thread that draws.
    """
    _kernels.seed(count_within("seed", s, 0, 2**32 - 1))


__all__ = [
    "KLUCB",
    "MODE_CATEGORICAL",
    "MODE_THOMPSON",
    "POLICIES",
    "UCB1",
    "Allocation",
    "EpsilonGreedy",
    "FixedWeights",
    "Policy",
    "ThompsonSampling",
    "allocation_for_paused",
    "beta_credible_intervals",
    "choose",
    "choose_many",
    "make_policy",
    "one_hot_allocation",
    "prob_best_binary",
    "prob_best_normal",
    "seed",
    "warm_up",
]

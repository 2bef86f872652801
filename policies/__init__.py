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
from policies.constraints import constrain_shares, constrained_allocation
from policies.epsilon_greedy import EpsilonGreedy
from policies.fixed import FixedWeights
from policies.gaussian_thompson import GaussianThompson, gaussian_posteriors
from policies.guardrails import prob_above, prob_above_many, prob_exceeds_by, prob_exceeds_by_many
from policies.promotion import beta_best_and_loss, normal_best_and_loss
from policies.registry import POLICIES, make_policy
from policies.status import beta_credible_intervals, prob_best_binary, prob_best_normal
from policies.sticky import arm_salts, choose_sticky, choose_sticky_many, unit_hash
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
    "GaussianThompson",
    "Policy",
    "ThompsonSampling",
    "allocation_for_paused",
    "arm_salts",
    "beta_best_and_loss",
    "beta_credible_intervals",
    "choose",
    "choose_many",
    "choose_sticky",
    "choose_sticky_many",
    "constrain_shares",
    "constrained_allocation",
    "gaussian_posteriors",
    "make_policy",
    "normal_best_and_loss",
    "one_hot_allocation",
    "prob_above",
    "prob_above_many",
    "prob_best_binary",
    "prob_best_normal",
    "prob_exceeds_by",
    "prob_exceeds_by_many",
    "seed",
    "unit_hash",
    "warm_up",
]

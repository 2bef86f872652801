"""Thompson sampling for continuous rewards: Normal posteriors of each arm's mean reward.

The service scales continuous rewards into [0, 1] by their declared range, so trials is the
number of rewards n, successes their (scaled) sum and sum_squares the sum of their squares.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies import _kernels, _prob_best
from policies._checks import (
    MAX_DRAWS,
    arm_statistics,
    count_within,
    float_array,
    nonnegative_array,
    real_within,
)
from policies.allocation import MODE_CATEGORICAL, Allocation, build_allocation

_INF = float("inf")


def _variances(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    sum_squares: ArrayLike | None,
) -> NDArray[np.float64]:
    variances = np.empty(trials.shape[0])
    if sum_squares is None:
        _kernels.bernoulli_variances(trials, successes, variances)
    else:
        checked = nonnegative_array("sum_squares", sum_squares, trials.shape[0])
        _kernels.reward_variances(trials, successes, checked, variances)
    return variances


def _posteriors(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    sum_squares: ArrayLike | None,
    prior_mean: float,
    prior_sd: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    variances = _variances(trials, successes, sum_squares)
    means, sds = np.empty(trials.shape[0]), np.empty(trials.shape[0])
    _kernels.gaussian_posteriors(trials, successes, variances, prior_mean, prior_sd, means, sds)
    return means, sds


def gaussian_posteriors(
    trials: ArrayLike,
    successes: ArrayLike,
    sum_squares: ArrayLike | None = None,
    prior_mean: float = 0.5,
    prior_sd: float = 0.5,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(means, sds) of the Normal posterior of each arm's mean reward (rewards scaled to [0, 1]).

    The reward variance is treated as known: s^2 = max(sample variance, 1e-4), the sample
    variance from n, sum and sum_squares with an n - 1 denominator, or m (1 - m) for mean m
    when sum_squares is None; s^2 = 0.25 when n < 2. Then, from the prior N(prior_mean,
    prior_sd^2):

        precision = 1 / prior_sd^2 + n / s^2
        mean = (prior_mean / prior_sd^2 + sum / s^2) / precision,   sd = 1 / sqrt(precision)
    """
    checked_trials = nonnegative_array("trials", trials)
    checked_successes = float_array("successes", successes, checked_trials.shape[0])
    np.clip(checked_successes, 0.0, checked_trials, out=checked_successes)
    prior_mean = real_within("prior_mean", prior_mean, 0.0, 1.0)
    prior_sd = real_within("prior_sd", prior_sd, 0.0, _INF, open_low=True)
    return _posteriors(checked_trials, checked_successes, sum_squares, prior_mean, prior_sd)


@dataclass(frozen=True, slots=True)
class GaussianThompson:
    """Normal posterior of each arm's mean reward (see gaussian_posteriors); MODE_CATEGORICAL.

    Decisions draw from shares, which are P(arm's posterior draw is the largest), integrated
    numerically like ThompsonSampling's and smoothed the same way (share_draws sets the
    resolution of the floor):

        shares[i] = (p[i] * share_draws + 0.5) / (share_draws + 0.5 * k)

    so serving from shares is Thompson sampling, and the logged propensity is never 0.
    """

    name: ClassVar[str] = "gaussian_thompson"
    prior_mean: float = 0.5
    prior_sd: float = 0.5
    share_draws: int = 4096

    def __post_init__(self) -> None:
        # Coerced to float and int so the kernels never compile a second specialization.
        object.__setattr__(self, "prior_mean", real_within("prior_mean", self.prior_mean, 0, 1))
        prior_sd = real_within("prior_sd", self.prior_sd, 0.0, _INF, open_low=True)
        object.__setattr__(self, "prior_sd", prior_sd)
        draws = count_within("share_draws", self.share_draws, 1, MAX_DRAWS)
        object.__setattr__(self, "share_draws", draws)

    def posteriors(
        self,
        trials: ArrayLike,
        successes: ArrayLike,
        sum_squares: ArrayLike | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(means, sds) under this policy's prior: gaussian_posteriors, for status pages."""
        return gaussian_posteriors(trials, successes, sum_squares, self.prior_mean, self.prior_sd)

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
        sum_squares: NDArray[np.float64] | None = None,
    ) -> Allocation:
        """Posteriors from the statistics (sum_squares of the scaled rewards, None for a
        Bernoulli-like variance); weights is ignored."""
        trials, successes, live = arm_statistics(trials, successes, live)
        means, sds = _posteriors(trials, successes, sum_squares, self.prior_mean, self.prior_sd)
        prob_best = np.empty(trials.shape[0])
        _prob_best.normal_prob_best(means, sds, live, prob_best)
        k = np.count_nonzero(live)
        smoothed = (prob_best * self.share_draws + 0.5) / (self.share_draws + 0.5 * k)
        shares = np.where(live, smoothed, 0.0)
        return build_allocation(MODE_CATEGORICAL, live, shares)

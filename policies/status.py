"""Numbers for experiment status pages: P(best) per arm and Beta credible intervals."""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies import _kernels
from policies._checks import (
    MAX_DRAWS,
    count_within,
    float_array,
    live_array,
    nonnegative_array,
    positive_array,
    real_within,
)


def prob_best_binary(
    alpha: ArrayLike, beta: ArrayLike, live: ArrayLike, n_draws: int = 20000
) -> NDArray[np.float64]:
    """P(arm is best) under Beta(alpha, beta) posteriors; 0 for arms not live."""
    checked_alpha = positive_array("alpha", alpha)
    n_arms = checked_alpha.shape[0]
    checked_beta = positive_array("beta", beta, n_arms)
    checked_live = live_array(live, n_arms)
    n_draws = count_within("n_draws", n_draws, 1, MAX_DRAWS)
    out = np.empty(n_arms)
    _kernels.beta_prob_best(checked_alpha, checked_beta, checked_live, n_draws, out)
    return out


def prob_best_normal(
    means: ArrayLike, sds: ArrayLike, live: ArrayLike, n_draws: int = 20000
) -> NDArray[np.float64]:
    """P(arm is best) for continuous rewards: each mean ~ Normal(means, sds), sds = std errors."""
    checked_means = float_array("means", means)
    n_arms = checked_means.shape[0]
    checked_sds = nonnegative_array("sds", sds, n_arms)
    checked_live = live_array(live, n_arms)
    n_draws = count_within("n_draws", n_draws, 1, MAX_DRAWS)
    out = np.empty(n_arms)
    _kernels.normal_prob_best(checked_means, checked_sds, checked_live, n_draws, out)
    return out


def beta_credible_intervals(
    alpha: ArrayLike, beta: ArrayLike, level: float = 0.95, n_draws: int = 20000
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(low, high): central credible interval at level of every Beta(alpha, beta)."""
    checked_alpha = positive_array("alpha", alpha)
    checked_beta = positive_array("beta", beta, checked_alpha.shape[0])
    level = real_within("level", level, 0.0, 1.0, open_low=True, open_high=True)
    n_draws = count_within("n_draws", n_draws, 1, MAX_DRAWS)
    low = np.empty(checked_alpha.shape[0])
    high = np.empty(checked_alpha.shape[0])
    _kernels.beta_intervals(checked_alpha, checked_beta, level, n_draws, low, high)
    return low, high

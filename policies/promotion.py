"""Promotion readiness: P(best) and expected loss per arm, both from one Monte Carlo pass.

Expected loss, E[max_j theta_j - theta_i], is what promoting arm i would cost in expectation
(in reward units); a common rule promotes the arm whose expected loss is below a tolerance.
"""

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
)


def beta_best_and_loss(
    alpha: ArrayLike, beta: ArrayLike, live: ArrayLike, draws: int = 20000
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(prob_best, expected_loss) under Beta(alpha, beta) posteriors, over live arms only.

    prob_best[i] = P(theta_i is the largest live theta); expected_loss[i] =
    E[max over live j of theta_j - theta_i]. Both are 0 for arms not live.
    """
    checked_alpha = positive_array("alpha", alpha)
    n_arms = checked_alpha.shape[0]
    checked_beta = positive_array("beta", beta, n_arms)
    checked_live = live_array(live, n_arms)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    prob_best, expected_loss = np.empty(n_arms), np.empty(n_arms)
    _kernels.beta_best_and_loss(
        checked_alpha, checked_beta, checked_live, draws, prob_best, expected_loss
    )
    return prob_best, expected_loss


def normal_best_and_loss(
    means: ArrayLike, sds: ArrayLike, live: ArrayLike, draws: int = 20000
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """beta_best_and_loss with theta_i ~ Normal(means_i, sds_i) (sds: posterior sds, >= 0)."""
    checked_means = float_array("means", means)
    n_arms = checked_means.shape[0]
    checked_sds = nonnegative_array("sds", sds, n_arms)
    checked_live = live_array(live, n_arms)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    prob_best, expected_loss = np.empty(n_arms), np.empty(n_arms)
    _kernels.normal_best_and_loss(
        checked_means, checked_sds, checked_live, draws, prob_best, expected_loss
    )
    return prob_best, expected_loss

"""Guardrails: how likely an arm breaches a limit, from Beta posteriors of rates (Monte Carlo).

Examples: "arm a's error rate exceeds the control's by more than 1 point" is
prob_exceeds_by(errors_a + 1, ok_a + 1, errors_c + 1, ok_c + 1, 0.01); "more than 5% of
requests are slower than the ceiling" (p95 latency above it) is prob_above(slow + 1,
fast + 1, 0.05).
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies import _kernels
from policies._checks import (
    MAX_DRAWS,
    count_within,
    live_array,
    positive_array,
    real_within,
)

_INF = float("inf")


def prob_exceeds_by(
    alpha_a: float,
    beta_a: float,
    alpha_c: float,
    beta_c: float,
    margin: float,
    draws: int = 20000,
) -> float:
    """P(theta_a - theta_c > margin), theta_a ~ Beta(alpha_a, beta_a), theta_c ~ Beta(alpha_c,
    beta_c) independent; margin within [-1, 1]."""
    alpha_a = real_within("alpha_a", alpha_a, 0.0, _INF, open_low=True)
    beta_a = real_within("beta_a", beta_a, 0.0, _INF, open_low=True)
    alpha_c = real_within("alpha_c", alpha_c, 0.0, _INF, open_low=True)
    beta_c = real_within("beta_c", beta_c, 0.0, _INF, open_low=True)
    margin = real_within("margin", margin, -1.0, 1.0)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    return _kernels.beta_prob_exceeds_by(alpha_a, beta_a, alpha_c, beta_c, margin, draws)


def prob_above(alpha: float, beta: float, threshold: float, draws: int = 20000) -> float:
    """P(theta > threshold), theta ~ Beta(alpha, beta); threshold within [0, 1]."""
    alpha = real_within("alpha", alpha, 0.0, _INF, open_low=True)
    beta = real_within("beta", beta, 0.0, _INF, open_low=True)
    threshold = real_within("threshold", threshold, 0.0, 1.0)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    return _kernels.beta_prob_above(alpha, beta, threshold, draws)


def prob_exceeds_by_many(
    alpha: ArrayLike,
    beta: ArrayLike,
    control_index: int,
    margin: float,
    live: ArrayLike,
    draws: int = 20000,
) -> NDArray[np.float64]:
    """prob_exceeds_by of every live arm against the control arm; 0 for the control itself and
    for arms not live. The control need not be live (a retired control still has a posterior)."""
    checked_alpha = positive_array("alpha", alpha)
    n_arms = checked_alpha.shape[0]
    checked_beta = positive_array("beta", beta, n_arms)
    control_index = count_within("control_index", control_index, 0, n_arms - 1)
    margin = real_within("margin", margin, -1.0, 1.0)
    checked_live = live_array(live, n_arms)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    out = np.empty(n_arms)
    _kernels.beta_prob_exceeds_by_many(
        checked_alpha, checked_beta, control_index, margin, checked_live, draws, out
    )
    return out


def prob_above_many(
    alpha: ArrayLike, beta: ArrayLike, threshold: float, live: ArrayLike, draws: int = 20000
) -> NDArray[np.float64]:
    """prob_above of every live arm; 0 for arms not live."""
    checked_alpha = positive_array("alpha", alpha)
    n_arms = checked_alpha.shape[0]
    checked_beta = positive_array("beta", beta, n_arms)
    threshold = real_within("threshold", threshold, 0.0, 1.0)
    checked_live = live_array(live, n_arms)
    draws = count_within("draws", draws, 1, MAX_DRAWS)
    out = np.empty(n_arms)
    _kernels.beta_prob_above_many(checked_alpha, checked_beta, threshold, checked_live, draws, out)
    return out

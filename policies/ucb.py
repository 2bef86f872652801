"""Upper-confidence-bound policies: all traffic to the live arm(s) with the highest index."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from policies import _kernels
from policies._checks import arm_statistics, real_within
from policies.allocation import MODE_CATEGORICAL, Allocation, build_allocation

_ScoreKernel = Callable[
    [NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], float, NDArray[np.float64]],
    None,
]


def _argmax_allocation(
    score_kernel: _ScoreKernel,
    exploration: float,
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
) -> Allocation:
    trials, successes, live = arm_statistics(trials, successes, live)
    scores = np.empty(trials.shape[0])
    score_kernel(trials, successes, live, exploration, scores)
    shares = np.empty(trials.shape[0])
    _kernels.argmax_shares(scores, live, shares)
    return build_allocation(MODE_CATEGORICAL, live, shares)


@dataclass(frozen=True, slots=True)
class UCB1:
    """UCB1 (Auer et al. 2002): mean + exploration * sqrt(2 ln(total trials) / trials).

    Untried live arms score +inf, so they are served first, evenly; ties split traffic evenly.
    """

    name: ClassVar[str] = "ucb1"
    exploration: float = 1.0

    def __post_init__(self) -> None:
        value = real_within("exploration", self.exploration, 0.0, float("inf"))
        object.__setattr__(self, "exploration", value)

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
    ) -> Allocation:
        """Share 1 to the best index (split on ties); weights is ignored."""
        return _argmax_allocation(_kernels.ucb1_scores, self.exploration, trials, successes, live)


@dataclass(frozen=True, slots=True)
class KLUCB:
    """KL-UCB for rewards in [0, 1] (Garivier and Cappé 2011).

    Index: the largest q >= mean with trials * kl(mean, q) <= ln T + exploration * ln ln T,
    T being the total trials. exploration = 0 is the usual choice in practice.
    """

    name: ClassVar[str] = "kl_ucb"
    exploration: float = 0.0

    def __post_init__(self) -> None:
        value = real_within("exploration", self.exploration, 0.0, float("inf"))
        object.__setattr__(self, "exploration", value)

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
    ) -> Allocation:
        """Share 1 to the best index (split on ties); weights is ignored."""
        return _argmax_allocation(_kernels.kl_ucb_scores, self.exploration, trials, successes, live)

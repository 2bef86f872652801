"""Epsilon-greedy: a fixed fraction of traffic explores, the rest goes to the best mean."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from policies import _kernels
from policies._checks import arm_statistics, real_within
from policies.allocation import MODE_CATEGORICAL, Allocation, build_allocation


@dataclass(frozen=True, slots=True)
class EpsilonGreedy:
    """epsilon / k to each of the k live arms, 1 - epsilon split over the best-mean live arms.

    Untried arms count as mean 0, so they are reached through exploration only.
    """

    name: ClassVar[str] = "epsilon_greedy"
    epsilon: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", real_within("epsilon", self.epsilon, 0.0, 1.0))

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
    ) -> Allocation:
        """Shares from the current means; weights is ignored."""
        trials, successes, live = arm_statistics(trials, successes, live)
        shares = np.empty(trials.shape[0])
        _kernels.epsilon_greedy_shares(trials, successes, live, self.epsilon, shares)
        return build_allocation(MODE_CATEGORICAL, live, shares)

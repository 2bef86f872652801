"""Fixed weights: traffic split as configured, whatever the rewards (A/B tests, canaries)."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from policies import _kernels
from policies._checks import arm_statistics, nonnegative_array
from policies.allocation import MODE_CATEGORICAL, Allocation, build_allocation


@dataclass(frozen=True, slots=True)
class FixedWeights:
    """Shares are the live arms' weights normalised to 1; all-zero live weights split evenly.

    Retiring an arm hands its weight to the remaining live arms in proportion to theirs.
    """

    name: ClassVar[str] = "fixed"

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
    ) -> Allocation:
        """Shares from weights; the statistics are only checked for alignment."""
        trials, _, live = arm_statistics(trials, successes, live)
        checked_weights = nonnegative_array("weights", weights, trials.shape[0])
        shares = np.empty(trials.shape[0])
        _kernels.fixed_shares(checked_weights, live, shares)
        return build_allocation(MODE_CATEGORICAL, live, shares)

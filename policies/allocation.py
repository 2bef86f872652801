"""What a policy hands to the serving path (Allocation) and the per-decision draws from it."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from policies import _kernels
from policies._checks import count_within

MODE_THOMPSON: int = 0  # per decision: draw from Beta(alpha, beta) per live arm
MODE_CATEGORICAL: int = 1  # per decision: draw from cum_shares


@dataclass(frozen=True, slots=True, eq=False)
class Allocation:
    """What a replica needs to make decisions until the next snapshot.

    Arrays built by this package are read-only: one allocation is shared by every serving
    thread, so an accidental in-place edit would change live traffic. Equality is identity
    (eq=False): field-wise == on arrays would raise instead of answering.
    """

    mode: int
    alpha: NDArray[np.float64]  # Beta posterior parameters (MODE_THOMPSON), zeros otherwise
    beta: NDArray[np.float64]
    live: NDArray[np.bool_]
    shares: NDArray[np.float64]  # propensity of each arm per decision; 0 when not live; sums to 1
    cum_shares: NDArray[np.float64]  # running sum of shares (MODE_CATEGORICAL draws from it)


class Policy(Protocol):
    """Turns per-arm statistics into an Allocation; every policy answers the same question."""

    @property
    def name(self) -> str: ...

    def allocate(
        self,
        trials: NDArray[np.float64],
        successes: NDArray[np.float64],
        live: NDArray[np.bool_],
        weights: NDArray[np.float64],
    ) -> Allocation: ...


def _frozen(array: NDArray[np.float64] | NDArray[np.bool_]) -> None:
    array.flags.writeable = False


def build_allocation(
    mode: int,
    live: NDArray[np.bool_],
    shares: NDArray[np.float64],
    alpha: NDArray[np.float64] | None = None,
    beta: NDArray[np.float64] | None = None,
) -> Allocation:
    """Allocation over arrays this package owns (they are frozen in place)."""
    n_arms = live.shape[0]
    cum_shares = np.empty(n_arms)
    _kernels.cumulative(shares, cum_shares)
    allocation = Allocation(
        mode=mode,
        alpha=np.zeros(n_arms) if alpha is None else alpha,
        beta=np.zeros(n_arms) if beta is None else beta,
        live=live,
        shares=shares,
        cum_shares=cum_shares,
    )
    for array in (allocation.alpha, allocation.beta, live, shares, cum_shares):
        _frozen(array)
    return allocation


def allocation_for_paused(n_arms: int, arm_index: int) -> Allocation:
    """Every decision goes to arm_index (a paused experiment serves its default arm).

    Only that arm is marked live, so a caller reading live sees where traffic can go.
    """
    n_arms = count_within("n_arms", n_arms, 1, 2**31 - 1)
    arm_index = count_within("arm_index", arm_index, 0, n_arms - 1)
    live = np.zeros(n_arms, dtype=np.bool_)
    live[arm_index] = True
    shares = np.zeros(n_arms)
    shares[arm_index] = 1.0
    return build_allocation(MODE_CATEGORICAL, live, shares)


one_hot_allocation = allocation_for_paused


# choose and choose_many are the hot path: no checks, nothing allocated but the result.
def choose(allocation: Allocation) -> int:
    """One decision: the index of the arm to serve."""
    if allocation.mode == MODE_THOMPSON:
        return _kernels.thompson_choose(allocation.alpha, allocation.beta, allocation.live)
    return _kernels.categorical_choose(allocation.cum_shares)


def choose_many(allocation: Allocation, n: int) -> NDArray[np.int64]:
    """n independent decisions."""
    out = np.empty(n, dtype=np.int64)
    if allocation.mode == MODE_THOMPSON:
        _kernels.thompson_choose_many(allocation.alpha, allocation.beta, allocation.live, out)
    else:
        _kernels.categorical_choose_many(allocation.cum_shares, out)
    return out

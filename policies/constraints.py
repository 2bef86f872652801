"""Floors and caps on traffic shares: keep a policy's proportions while honouring per-arm bounds."""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies import _kernels
from policies._checks import live_array, share_array, share_bounds
from policies.allocation import MODE_CATEGORICAL, Allocation, build_allocation


def constrain_shares(
    shares: ArrayLike, live: ArrayLike, floor: ArrayLike, cap: ArrayLike
) -> NDArray[np.float64]:
    """Shares with floor[i] <= out[i] <= cap[i] on live arms, summing to 1, 0 elsewhere.

    out[i] = clip(lam * shares[i], floor[i], cap[i]) with lam solved exactly (water-filling),
    so arms inside their bounds keep their relative proportions. When no lam reaches 1 because
    every arm with room below its cap has share 0 (UCB gives one arm 1.0 and it is capped at
    0.05), the rest is spread evenly over those arms, still within their bounds. If the live
    floors sum above 1 they are scaled down to sum 1; if the live caps sum below 1 the result
    is proportional to the caps. With no live arm every share is 0.
    Use floor 0 and cap 1 for an unconstrained arm.
    """
    checked_live = live_array(live)
    n_arms = checked_live.shape[0]
    checked_shares = share_array(shares, checked_live)
    checked_floor, checked_cap = share_bounds(floor, cap, n_arms)
    out = np.empty(n_arms)
    _kernels.constrain_shares(checked_shares, checked_live, checked_floor, checked_cap, out)
    return out


def constrained_allocation(allocation: Allocation, floor: ArrayLike, cap: ArrayLike) -> Allocation:
    """A MODE_CATEGORICAL allocation serving constrain_shares(allocation.shares, ...).

    Valid for a MODE_THOMPSON allocation too: its shares are the integrated P(best), which is
    the probability that Thompson sampling serves each arm under the current posteriors, so
    drawing from the constrained shares is Thompson sampling with floors and caps.
    """
    shares = constrain_shares(allocation.shares, allocation.live, floor, cap)
    return build_allocation(MODE_CATEGORICAL, allocation.live.copy(), shares)

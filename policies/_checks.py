"""Input checks shared by the policy drivers: every ValueError a caller can get is worded here."""

import math
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Monte Carlo draw counts above this would stall a snapshot for seconds with 128 arms.
MAX_DRAWS = 1_000_000


def _range_text(low: float, high: float, open_low: bool, open_high: bool) -> str:
    def bound(x: float) -> str:
        return "inf" if math.isinf(x) else f"{x:g}"

    return f"{'(' if open_low else '['}{bound(low)}, {bound(high)}{')' if open_high else ']'}"


def _shown(value: object) -> str:
    # str for numbers so that numpy scalars read "1.5", not "np.float64(1.5)"; repr for the
    # rest so that a string reads '0.1' and is not mistaken for a number.
    if isinstance(value, Real) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def real_within(
    name: str,
    value: object,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """value as a float if it is a real number in the range, else ValueError naming name."""
    allowed = _range_text(low, high, open_low or math.isinf(low), open_high or math.isinf(high))
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number within {allowed}, got {_shown(value)}")
    x = float(value)
    above_low = x > low if open_low else x >= low
    below_high = x < high if open_high else x <= high
    if not (math.isfinite(x) and above_low and below_high):
        raise ValueError(f"{name} must be within {allowed}, got {_shown(value)}")
    return x


def count_within(name: str, value: object, low: int, high: int) -> int:
    """value as an int if it is an integer in [low, high], else ValueError naming name."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer within [{low}, {high}], got {_shown(value)}")
    return int(value)


def float_array(name: str, values: ArrayLike, n_arms: int | None = None) -> NDArray[np.float64]:
    """A finite float64 copy of a 1-D numeric array (of length n_arms if given)."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must be a 1-D array of numbers, got shape {array.shape} dtype {array.dtype}"
        )
    if n_arms is not None and array.shape[0] != n_arms:
        raise ValueError(f"{name} has length {array.shape[0]} but there are {n_arms} arms")
    copy = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(copy))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] must be finite, got {copy[bad[0]]}")
    return copy


def nonnegative_array(
    name: str, values: ArrayLike, n_arms: int | None = None
) -> NDArray[np.float64]:
    """float_array that also rejects negative entries."""
    array = float_array(name, values, n_arms)
    bad = np.flatnonzero(array < 0.0)
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] must be >= 0, got {array[bad[0]]}")
    return array


def positive_array(name: str, values: ArrayLike, n_arms: int | None = None) -> NDArray[np.float64]:
    """float_array that also rejects entries <= 0 (Beta parameters)."""
    array = float_array(name, values, n_arms)
    bad = np.flatnonzero(array <= 0.0)
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] must be > 0, got {array[bad[0]]}")
    return array


def live_array(values: ArrayLike, n_arms: int | None = None) -> NDArray[np.bool_]:
    """A bool copy of the live mask; integer masks are refused because they look like indices."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise ValueError(
            f"live must be a 1-D boolean array, got shape {array.shape} dtype {array.dtype}"
        )
    if n_arms is not None and array.shape[0] != n_arms:
        raise ValueError(f"live has length {array.shape[0]} but there are {n_arms} arms")
    return array.copy()


def arm_statistics(
    trials: ArrayLike, successes: ArrayLike, live: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Checked copies of the per-arm statistics a policy allocates from.

    successes is clipped into [0, trials]: the service's normalised reward sums can overshoot
    by rounding, and a mean above 1 would break the Beta and KL-UCB formulas.
    """
    checked_trials = nonnegative_array("trials", trials)
    n_arms = checked_trials.shape[0]
    checked_successes = float_array("successes", successes, n_arms)
    checked_live = live_array(live, n_arms)
    if not checked_live.any():
        raise ValueError(
            f"no live arm among {n_arms}: at least one arm must be live to allocate traffic"
        )
    np.clip(checked_successes, 0.0, checked_trials, out=checked_successes)
    return checked_trials, checked_successes, checked_live

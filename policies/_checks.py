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


def fraction_array(name: str, values: ArrayLike, n_arms: int | None = None) -> NDArray[np.float64]:
    """float_array whose entries are all within [0, 1] (shares, floors, caps)."""
    array = float_array(name, values, n_arms)
    bad = np.flatnonzero((array < 0.0) | (array > 1.0))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] must be within [0, 1], got {array[bad[0]]}")
    return array


# Shares handed around the service are sums of float64 terms; anything further than this from 1
# is a caller passing counts or weights, not rounding.
SHARE_TOTAL_TOLERANCE = 1e-6


def share_array(values: ArrayLike, live: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Checked shares: >= 0, 0 for arms not live, summing to 1 over live arms (if any is live)."""
    shares = nonnegative_array("shares", values, live.shape[0])
    stray = np.flatnonzero((shares > 0.0) & ~live)
    if stray.size:
        raise ValueError(
            f"shares[{stray[0]}] is {shares[stray[0]]} but arm {stray[0]} is not live: "
            "arms that are not live must have share 0"
        )
    total = float(shares.sum())
    if live.any() and abs(total - 1.0) > SHARE_TOTAL_TOLERANCE:
        raise ValueError(
            f"shares must sum to 1 over live arms, got {total:g}: normalise them first"
        )
    return shares


def share_bounds(
    floor: ArrayLike, cap: ArrayLike, n_arms: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Checked per-arm floor and cap: both within [0, 1], cap >= floor for every arm."""
    checked_floor = fraction_array("floor", floor, n_arms)
    checked_cap = fraction_array("cap", cap, n_arms)
    bad = np.flatnonzero(checked_cap < checked_floor)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"cap[{i}] is {checked_cap[i]} but floor[{i}] is {checked_floor[i]}: every cap must "
            "be >= its floor (use floor 0 and cap 1 for an unconstrained arm)"
        )
    return checked_floor, checked_cap


def nonempty_text(name: str, value: object) -> str:
    """value if it is a non-empty str, else ValueError naming name."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {type(value).__name__} {_shown(value)}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def distinct_names(name: str, values: object) -> list[str]:
    """values as a list of distinct non-empty str (arm names), else ValueError naming name."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a sequence of str, got {type(values).__name__}")
    names = [nonempty_text(f"{name}[{i}]", value) for i, value in enumerate(values)]
    seen: dict[str, int] = {}
    for i, value in enumerate(names):
        if value in seen:
            raise ValueError(
                f"{name}[{i}] repeats {value!r} (also {name}[{seen[value]}]): arm names must be "
                "distinct, or the two arms would always draw the same random numbers"
            )
        seen[value] = i
    return names


def hash_array(name: str, values: ArrayLike, n: int | None = None) -> NDArray[np.uint64]:
    """A uint64 copy of a 1-D array of 64-bit hashes (unsigned, or signed and >= 0)."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a 1-D array of unsigned 64-bit integers, "
            f"got shape {array.shape} dtype {array.dtype}"
        )
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has length {array.shape[0]} but there are {n} arms")
    if array.dtype.kind == "i":
        bad = np.flatnonzero(array < 0)
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] must be >= 0, got {array[bad[0]]}")
    return array.astype(np.uint64)


def salt_table(salts: object, n_arms: int) -> NDArray[np.uint64]:
    """salts itself when it is already a 1-D uint64 array of n_arms (the hot path: no copy)."""
    if (
        not isinstance(salts, np.ndarray)
        or salts.ndim != 1
        or salts.dtype != np.uint64
        or salts.shape[0] != n_arms
    ):
        shown = (
            f"shape {salts.shape} dtype {salts.dtype}"
            if isinstance(salts, np.ndarray)
            else type(salts).__name__
        )
        raise ValueError(
            f"salts must be a 1-D uint64 array with one salt per arm ({n_arms}), got {shown}: "
            "build it with arm_salts(arm_names)"
        )
    return salts
